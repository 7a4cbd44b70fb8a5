#include "harness/cli/list_command.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "harness/registry.hpp"

namespace lrb {
namespace {

std::string default_text(const ParamSpec& s) {
  if (s.default_value.is_null()) return "required";
  if (s.default_value.is_string()) return s.default_value.get<std::string>();
  return s.default_value.dump();
}

void print_params(std::ostream& out, const ParamSpecs& specs, const std::string& indent) {
  for (const auto& s : specs) {
    std::string extra;
    if (!s.choices.empty() && s.choices.size() <= 8) extra = fmt::format(" {{{}}}", fmt::join(s.choices, "|"));
    out << fmt::format("{}{:<16} {:<16} default {:<14} {}{}\n", indent, s.name, to_string(s.type), default_text(s), s.help,
                       extra);
  }
}

template <class T, class Key>
void sort_by(std::vector<T>& v, Key key) {
  std::sort(v.begin(), v.end(), [&](const T& a, const T& b) { return key(a) < key(b); });
}

}  // namespace

void print_registry(std::ostream& out, const std::string& what) {
  const auto& r = Registry::instance();
  auto families = r.families();
  sort_by(families, [](const TaskFamily* f) { return f->id(); });
  const bool all = what == "all";
  if (all || what == "tasks") {
    out << "Task families (workload parameters; any of them may be an axis):\n";
    for (const auto* f : families) {
      out << fmt::format("  {}: {}\n", f->id(), f->description());
      print_params(out, f->params(), "      ");
    }
    out << "\n";
  }
  if (all || what == "methods") {
    out << "Methods:\n";
    for (const auto* f : families) {
      auto methods = r.methods(f->id(), false);
      sort_by(methods, [](const MethodInfo* m) { return m->id; });
      for (const auto* m : methods) {
        std::vector<std::string> backends;
        for (auto b : m->backends()) backends.push_back(to_string(b));
        if (backends.empty()) backends.push_back("none in this build");
        out << fmt::format("  {:<20} {:<20} [{}] {}\n", m->id, f->id(), fmt::join(backends, ","), m->description);
        if (!m->traits.reference.empty())
          out << fmt::format("      (no CPU path: checked against {} on the GPU)\n", m->traits.reference);
        print_params(out, m->params, "      ");
      }
    }
    out << "\n";
  }
  if (all || what == "workloads") {
    out << "Workload generators (their parameters go in \"workload\" or \"axes\" beside the family's):\n";
    for (const auto* f : families) {
      auto workloads = r.workloads(f->id());
      sort_by(workloads, [](const WorkloadInfo* w) { return w->id; });
      for (const auto* w : workloads) {
        out << fmt::format("  {:<20} {:<20} {}\n", w->id, f->id(), w->description);
        print_params(out, w->params, "      ");
      }
    }
    out << "\n";
  }
  if (all || what == "models") {
    out << "Model shapes:\n";
    auto models = r.models();
    sort_by(models, [](const ModelShape* m) { return m->id; });
    for (const auto* m : models) {
      std::vector<std::string> projections;
      for (const auto& p : m->projections) projections.push_back(fmt::format("{} {}->{}", p.name, p.d_in, p.d_out));
      out << fmt::format("  {:<12} {}\n               projections: {}; RoPE theta {} ({})\n", m->id, m->description,
                         fmt::join(projections, ", "), m->rope_theta, m->rope_style);
    }
  }
}

}  // namespace lrb
