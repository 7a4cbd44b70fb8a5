#include "harness/sweep.hpp"

#include <stdexcept>

#include <fmt/format.h>

#include "harness/registry.hpp"

namespace lrb {

std::string describe_values(const Json& values) {
  std::vector<std::string> parts;
  for (auto it = values.begin(); it != values.end(); ++it) {
    const Json& v = it.value();
    std::string text;
    if (v.is_string()) text = v.get<std::string>();
    else if (v.is_array()) {
      std::vector<std::string> items;
      for (const auto& e : v) items.push_back(e.is_string() ? e.get<std::string>() : e.dump());
      text = fmt::format("{}", fmt::join(items, "+"));
    } else text = v.dump();
    parts.push_back(it.key() + "=" + text);
  }
  return fmt::format("{}", fmt::join(parts, ","));
}

namespace {

// One dimension of the product: a single axis, or a zip group (several params, same index).
struct Dimension {
  std::vector<std::string> names;
  std::vector<std::vector<Json>> columns;  // columns[param][i]
  std::size_t size() const { return columns.empty() ? 0 : columns[0].size(); }
};

std::vector<Dimension> dimensions_of(const Json& axes) {
  std::vector<Dimension> dims;
  for (auto it = axes.begin(); it != axes.end(); ++it) {
    if (it.key() == "zip") {
      for (const auto& group : it.value()) {
        Dimension d;
        for (auto p = group.begin(); p != group.end(); ++p) {
          d.names.push_back(p.key());
          d.columns.emplace_back(p.value().begin(), p.value().end());
        }
        dims.push_back(std::move(d));
      }
    } else {
      Dimension d;
      d.names.push_back(it.key());
      d.columns.emplace_back(it.value().begin(), it.value().end());
      dims.push_back(std::move(d));
    }
  }
  return dims;
}

// Calls `visit(assignment)` for every combination, the first dimension outermost.
template <class F>
void for_each_combination(const std::vector<Dimension>& dims, F&& visit) {
  std::vector<std::size_t> index(dims.size(), 0);
  while (true) {
    Json assignment = Json::object();
    for (std::size_t d = 0; d < dims.size(); ++d)
      for (std::size_t p = 0; p < dims[d].names.size(); ++p) assignment[dims[d].names[p]] = dims[d].columns[p][index[d]];
    visit(assignment);
    std::size_t d = dims.size();
    while (d > 0) {
      --d;
      if (++index[d] < dims[d].size()) break;
      index[d] = 0;
      if (d == 0) return;
    }
    if (dims.empty()) return;
  }
}

}  // namespace

std::vector<Point> expand_points(const RunBlock& config, const TaskFamily& family) {
  const ParamSpecs specs = family.params();
  std::vector<Point> points;
  for_each_combination(dimensions_of(config.axes), [&](const Json& assignment) {
    Json given = config.workload;
    for (auto it = assignment.begin(); it != assignment.end(); ++it) given[it.key()] = it.value();
    Json values = Json::object();
    for (const auto& s : specs) values[s.name] = given.contains(s.name) ? given[s.name] : s.default_value;
    // The selected generator's parameters follow the family's.
    if (values.contains("generator") && values["generator"].is_string()) {
      if (const WorkloadInfo* w = Registry::instance().workload(family.id(), values["generator"].get<std::string>()))
        for (const auto& s : w->params) values[s.name] = given.contains(s.name) ? given[s.name] : s.default_value;
    }
    Point p;
    p.values = std::move(values);
    p.id = assignment.empty() ? std::string("default") : describe_values(assignment);
    points.push_back(std::move(p));
  });
  return points;
}

std::vector<MethodVariant> expand_methods(const RunBlock& config) {
  std::vector<MethodVariant> variants;
  for (const auto& entry : config.methods) {
    const MethodInfo* info = Registry::instance().method(entry.id);
    if (!info) continue;  // validation has reported it
    for_each_combination(dimensions_of(entry.axes), [&](const Json& assignment) {
      Json given = entry.params;
      for (auto it = assignment.begin(); it != assignment.end(); ++it) given[it.key()] = it.value();
      MethodVariant v;
      v.id = entry.id;
      v.params = with_defaults(info->params, given);
      v.label = given.empty() ? entry.id : fmt::format("{}[{}]", entry.id, describe_values(given));
      variants.push_back(std::move(v));
    });
  }
  return variants;
}

std::string filter_subject(const std::string& block, const std::string& method_label, const std::string& point_id) {
  return (block.empty() ? "" : block + "/") + method_label + "/" + point_id;
}

std::optional<std::regex> compile_filter(const std::string& text) {
  if (text.empty()) return std::nullopt;
  try {
    return std::regex(text);
  } catch (const std::regex_error& e) {
    throw std::runtime_error(fmt::format("--filter '{}' is not a valid regex: {}", text, e.what()));
  }
}

}  // namespace lrb
