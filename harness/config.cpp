#include "harness/config.hpp"

#include <fstream>
#include <regex>
#include <set>
#include <sstream>

#include <fmt/format.h>

#include "harness/hash.hpp"
#include "harness/registry.hpp"
#include "harness/strict_json.hpp"
#include "harness/sweep.hpp"

namespace lrb {

std::string hex64(std::uint64_t value) { return fmt::format("{:016x}", value); }

namespace {

class Validator {
 public:
  std::vector<ConfigError> errors;

  void error(std::string path, std::string message) { errors.push_back({std::move(path), std::move(message)}); }

  // Reports keys of `obj` not in `allowed`; returns false when there was one.
  bool known_keys(const Json& obj, const std::string& path, const std::vector<std::string>& allowed) {
    bool ok = true;
    for (auto it = obj.begin(); it != obj.end(); ++it) {
      if (std::find(allowed.begin(), allowed.end(), it.key()) == allowed.end()) {
        error(path + "/" + it.key(), fmt::format("unknown key (allowed here: {})", fmt::join(allowed, ", ")));
        ok = false;
      }
    }
    return ok;
  }
};


// Family parameters plus every generator parameter of the family, with the generator that owns it.
struct KnownParam {
  const ParamSpec* spec;
  std::string generator;  // empty: a family parameter
};

std::vector<KnownParam> family_and_generator_params(const TaskFamily& family, const ParamSpecs& family_specs,
                                                    std::vector<ParamSpecs>& storage) {
  std::vector<KnownParam> out;
  for (const auto& s : family_specs) out.push_back({&s, ""});
  const auto workloads = Registry::instance().workloads(family.id());
  storage.reserve(workloads.size());
  for (const auto* w : workloads) storage.push_back(w->params);
  for (std::size_t i = 0; i < workloads.size(); ++i)
    for (const auto& s : storage[i]) out.push_back({&s, workloads[i]->id});
  return out;
}

const KnownParam* find_known(const std::vector<KnownParam>& known, const std::string& name,
                             const std::set<std::string>& generators) {
  const KnownParam* any = nullptr;
  for (const auto& k : known) {
    if (k.spec->name != name) continue;
    if (k.generator.empty() || generators.count(k.generator)) return &k;
    any = &k;
  }
  return any;
}

void validate_measure(Validator& v, const Json& m, const std::string& path, MeasureOptions& out) {
  if (!m.is_object()) {
    v.error(path, "must be an object");
    return;
  }
  v.known_keys(m, path,
               {"mode", "warmup", "min_samples", "max_samples", "max_noise", "timeout_s", "hbm", "fidelity",
                "keep_samples", "max_reference_flops"});
  const ParamSpecs specs = {
      {"mode", ParamType::string, "graph", "", {}, {}, {"cold", "graph", "hot"}},
      {"warmup", ParamType::integer, 10, "", 0.0, {}, {}},
      {"min_samples", ParamType::integer, 20, "", 1.0, {}, {}},
      {"max_samples", ParamType::integer, 10000, "", 1.0, {}, {}},
      {"max_noise", ParamType::number, 0.02, "", 0.0, {}, {}},
      {"timeout_s", ParamType::number, 5.0, "", 0.0, {}, {}},
      {"hbm", ParamType::boolean, true, "", {}, {}, {}},
      {"fidelity", ParamType::boolean, true, "", {}, {}, {}},
      {"keep_samples", ParamType::boolean, false, "", {}, {}, {}},
      {"max_reference_flops", ParamType::number, 4e9, "", 1.0, {}, {}},
  };
  bool ok = true;
  for (const auto& s : specs) {
    if (!m.contains(s.name)) continue;
    if (auto err = check_param_value(s, m[s.name])) {
      v.error(path + "/" + s.name, *err);
      ok = false;
    }
  }
  if (m.contains("timeout_s") && ok && m["timeout_s"].get<double>() <= 0) {
    v.error(path + "/timeout_s", "must be a number > 0");
    ok = false;
  }
  if (m.contains("max_noise") && ok && m["max_noise"].get<double>() <= 0) {
    v.error(path + "/max_noise", "must be a number > 0");
    ok = false;
  }
  if (!ok) return;
  // Keys not given keep what `out` holds (the defaults, or the config-level measure for a block).
  out.mode = m.value("mode", out.mode);
  out.warmup = m.value("warmup", out.warmup);
  out.min_samples = m.value("min_samples", out.min_samples);
  out.max_samples = m.value("max_samples", out.max_samples);
  out.max_noise = m.value("max_noise", out.max_noise);
  out.timeout_s = m.value("timeout_s", out.timeout_s);
  out.hbm = m.value("hbm", out.hbm);
  out.fidelity = m.value("fidelity", out.fidelity);
  out.keep_samples = m.value("keep_samples", out.keep_samples);
  out.max_reference_flops = m.value("max_reference_flops", out.max_reference_flops);
  if (out.max_samples < out.min_samples) v.error(path + "/max_samples", "must be >= min_samples");
}

// Checks one axis value list: non-empty array, each element valid for `spec`.
void validate_axis_values(Validator& v, const std::string& path, const Json& values, const ParamSpec& spec) {
  if (!values.is_array() || values.empty()) {
    v.error(path, "must be a non-empty array of values");
    return;
  }
  std::set<std::string> seen;
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (auto err = check_param_value(spec, values[i])) {
      v.error(fmt::format("{}/{}", path, i), *err);
      continue;
    }
    // Numbers by value: 1 and 1.0 would otherwise make two identical points.
    const std::string identity = values[i].is_number() ? fmt::format("{:.17g}", values[i].get<double>()) : values[i].dump();
    if (!seen.insert(identity).second)
      v.error(fmt::format("{}/{}", path, i), fmt::format("repeats the value {}", values[i].dump()));
  }
}

void validate_methods(Validator& v, const Json& methods, const std::string& prefix, const std::string& task,
                      std::vector<MethodEntry>& out) {
  if (!methods.is_array() || methods.empty()) {
    v.error(prefix + "/methods", "must be a non-empty array of method ids or {\"id\": ..., \"params\": {...}} objects");
    return;
  }
  std::set<std::string> seen;
  for (std::size_t i = 0; i < methods.size(); ++i) {
    const std::string path = fmt::format("{}/methods/{}", prefix, i);
    const Json& e = methods[i];
    MethodEntry entry;
    entry.path = path;
    if (e.is_string()) {
      entry.id = e.get<std::string>();
    } else if (e.is_object()) {
      if (!v.known_keys(e, path, {"id", "params", "axes"})) continue;
      if (!e.contains("id") || !e["id"].is_string()) {
        v.error(path + "/id", "required: the method id (a string)");
        continue;
      }
      entry.id = e["id"].get<std::string>();
      if (e.contains("params")) {
        if (!e["params"].is_object()) {
          v.error(path + "/params", "must be an object of parameter values");
          continue;
        }
        entry.params = e["params"];
      }
      if (e.contains("axes")) {
        if (!e["axes"].is_object() || e["axes"].empty()) {
          v.error(path + "/axes", "must be a non-empty object: parameter -> list of values");
          continue;
        }
        entry.axes = e["axes"];
      }
    } else {
      v.error(path, "must be a method id (string) or an object with \"id\"");
      continue;
    }
    const MethodInfo* info = Registry::instance().method(entry.id);
    const std::string id_path = e.is_string() ? path : path + "/id";
    if (!info) {
      std::vector<std::string> known;
      for (const auto* m : Registry::instance().methods(task))
        if (!m->hidden) known.push_back(m->id);
      v.error(id_path, fmt::format("unknown method '{}' (methods of {}: {})", entry.id, task, fmt::join(known, ", ")));
      continue;
    }
    if (info->family != task) {
      v.error(id_path, fmt::format("method '{}' belongs to task {}, not {}", entry.id, info->family, task));
      continue;
    }
    for (auto it = entry.params.begin(); it != entry.params.end(); ++it) {
      const ParamSpec* spec = find_param(info->params, it.key());
      if (!spec) {
        std::vector<std::string> names;
        for (const auto& s : info->params) names.push_back(s.name);
        v.error(path + "/params/" + it.key(),
                fmt::format("unknown parameter of method {} (its parameters: {})", entry.id,
                            names.empty() ? std::string("none") : fmt::format("{}", fmt::join(names, ", "))));
      } else if (auto err = check_param_value(*spec, it.value())) {
        v.error(path + "/params/" + it.key(), *err);
      }
    }
    for (auto it = entry.axes.begin(); it != entry.axes.end(); ++it) {
      const ParamSpec* spec = find_param(info->params, it.key());
      if (!spec) {
        v.error(path + "/axes/" + it.key(), fmt::format("unknown parameter of method {}", entry.id));
      } else if (entry.params.contains(it.key())) {
        v.error(path + "/axes/" + it.key(), "also given in params: set it in one place");
      } else {
        validate_axis_values(v, path + "/axes/" + it.key(), it.value(), *spec);
      }
    }
    const std::string identity = entry.id + entry.params.dump() + entry.axes.dump();
    if (!seen.insert(identity).second) v.error(path, fmt::format("repeats an earlier entry for method '{}'", entry.id));
    out.push_back(std::move(entry));
  }
}

void validate_claims(Validator& v, const Json& claims, const std::string& prefix, const std::vector<MethodEntry>& methods) {
  if (!claims.is_array()) {
    v.error(prefix + "/claims", "must be an array of {metric, method, value, source} objects");
    return;
  }
  for (std::size_t i = 0; i < claims.size(); ++i) {
    const std::string path = fmt::format("{}/claims/{}", prefix, i);
    const Json& c = claims[i];
    if (!c.is_object()) {
      v.error(path, "must be an object {metric, method, value, source}");
      continue;
    }
    if (!v.known_keys(c, path, {"metric", "method", "value", "source", "unit", "point", "params", "compare", "note",
                                "baseline", "rel_tol", "abs_tol"}))
      continue;
    for (const char* key : {"rel_tol", "abs_tol"})
      if (c.contains(key) && (!c[key].is_number() || c[key].get<double>() < 0))
        v.error(path + "/" + key, "must be a number >= 0");
    if (c.contains("params") && !c["params"].is_object()) v.error(path + "/params", "must be an object of method parameters");
    if (c.contains("baseline")) {
      const Json& b = c["baseline"];
      if (!b.is_object()) {
        v.error(path + "/baseline", "must be an object {method, params, block}");
      } else if (v.known_keys(b, path + "/baseline", {"method", "params", "block"})) {
        for (const char* key : {"method", "block"})
          if (b.contains(key) && (!b[key].is_string() || b[key].get<std::string>().empty()))
            v.error(path + "/baseline/" + key, "must be a non-empty string");
        if (b.contains("params") && !b["params"].is_object())
          v.error(path + "/baseline/params", "must be an object of method parameters");
      }
    }
    for (const char* key : {"metric", "method", "source"})
      if (!c.contains(key) || !c[key].is_string() || c[key].get<std::string>().empty())
        v.error(path + "/" + key, "required: a non-empty string");
    if (!c.contains("value") || !c["value"].is_number()) v.error(path + "/value", "required: a number");
    if (c.contains("point") && !c["point"].is_object()) v.error(path + "/point", "must be an object of point values");
    if (c.contains("compare") &&
        (!c["compare"].is_string() || (c["compare"] != "at_most" && c["compare"] != "at_least" &&
                                       c["compare"] != "about")))
      v.error(path + "/compare", "must be one of: at_most, at_least, about");
    if (c.contains("method") && c["method"].is_string()) {
      const std::string m = c["method"].get<std::string>();
      bool found = false;
      for (const auto& e : methods) found = found || e.id == m;
      if (!found) v.error(path + "/method", fmt::format("method '{}' is not in {}/methods", m, prefix));
    }
  }
}

// The parameter names a block's workload and axes may use: the family's and those of the generators that
// can be in force.
class BlockParams {
 public:
  BlockParams(const BlockParams&) = delete;
  BlockParams& operator=(const BlockParams&) = delete;
  BlockParams(Validator& v, const TaskFamily& family, const Json* workload, const Json* axes)
      : v_(v), family_(family), specs_(family.params()), known_(family_and_generator_params(family, specs_, storage_)) {
    // Which generators can be in force: the workload's, the axis's, or the default.
    if (workload && workload->contains("generator") && (*workload)["generator"].is_string())
      generators_.insert((*workload)["generator"].get<std::string>());
    else if (axes && axes->contains("generator") && (*axes)["generator"].is_array())
      for (const auto& g : (*axes)["generator"])
        if (g.is_string()) generators_.insert(g.get<std::string>());
    if (generators_.empty())
      if (const ParamSpec* g = find_param(specs_, "generator")) generators_.insert(g->default_value.get<std::string>());
  }

  // The spec of `name`, or nothing (with an error at `path`).
  const ParamSpec* check_name(const std::string& path, const std::string& name) {
    const KnownParam* k = find_known(known_, name, generators_);
    if (!k) {
      std::vector<std::string> names;
      for (const auto& s : specs_) names.push_back(s.name);
      v_.error(path, fmt::format("unknown parameter of task {} (its parameters: {}; generator parameters: see "
                                 "`lrbench list workloads`)",
                                 family_.id(), fmt::join(names, ", ")));
      return nullptr;
    }
    if (!k->generator.empty() && !generators_.count(k->generator)) {
      v_.error(path, fmt::format("parameter of generator '{}', which this config does not use", k->generator));
      return nullptr;
    }
    return k->spec;
  }

 private:
  Validator& v_;
  const TaskFamily& family_;
  ParamSpecs specs_;
  std::vector<ParamSpecs> storage_;
  std::vector<KnownParam> known_;  // points into specs_ and storage_
  std::set<std::string> generators_;
};

// The swept parameters of one block: each a known parameter, set in one place, swept once.
class AxesValidator {
 public:
  AxesValidator(Validator& v, BlockParams& params, const Json* workload, std::string prefix)
      : v_(v), params_(params), workload_(workload), prefix_(std::move(prefix)) {}

  void validate(const Json& axes) {
    for (auto it = axes.begin(); it != axes.end(); ++it) {
      if (it.key() == "zip") validate_zip(it.value());
      else check_axis(prefix_ + "/axes/" + it.key(), it.key(), it.value());
    }
  }

 private:
  void check_axis(const std::string& path, const std::string& name, const Json& values) {
    const ParamSpec* spec = params_.check_name(path, name);
    if (!spec) return;
    if (workload_ && workload_->contains(name)) {
      v_.error(path, fmt::format("also set in {}/workload/{}: set it in one place", prefix_, name));
      return;
    }
    if (!swept_.insert(name).second) {
      v_.error(path, "swept twice (in axes and in a zip group)");
      return;
    }
    validate_axis_values(v_, path, values, *spec);
  }

  void validate_zip(const Json& groups) {
    if (!groups.is_array() || groups.empty()) {
      v_.error(prefix_ + "/axes/zip", "must be a non-empty array of groups {param: [values], ...} of equal lengths");
      return;
    }
    for (std::size_t g = 0; g < groups.size(); ++g) {
      const std::string gpath = fmt::format("{}/axes/zip/{}", prefix_, g);
      if (!groups[g].is_object() || groups[g].size() < 2) {
        v_.error(gpath, "must be an object of at least two parameters, each a list of values");
        continue;
      }
      std::optional<std::size_t> length;
      for (auto p = groups[g].begin(); p != groups[g].end(); ++p) {
        check_axis(gpath + "/" + p.key(), p.key(), p.value());
        if (!p.value().is_array()) continue;
        if (!length) length = p.value().size();
        else if (*length != p.value().size())
          v_.error(gpath + "/" + p.key(),
                   fmt::format("has {} values; the other lists of this zip group have {}", p.value().size(), *length));
      }
    }
  }

  Validator& v_;
  BlockParams& params_;
  const Json* workload_;
  std::string prefix_;
  std::set<std::string> swept_;
};

const TaskFamily* validate_task(Validator& v, const Json& doc, const std::string& prefix, RunBlock& block) {
  if (!doc.contains("task") || !doc["task"].is_string()) {
    v.error(prefix + "/task", "required: a task family id");
    return nullptr;
  }
  block.task = doc["task"].get<std::string>();
  const TaskFamily* family = Registry::instance().family(block.task);
  if (!family) {
    std::vector<std::string> ids;
    for (const auto* f : Registry::instance().families()) ids.push_back(f->id());
    v.error(prefix + "/task", fmt::format("unknown task '{}' (known: {})", block.task, fmt::join(ids, ", ")));
  }
  return family;
}

void validate_workload_and_axes(Validator& v, const Json& doc, const std::string& prefix, const TaskFamily& family,
                                RunBlock& block) {
  const Json* workload = doc.contains("workload") ? &doc["workload"] : nullptr;
  const Json* axes = doc.contains("axes") ? &doc["axes"] : nullptr;
  if (workload && !workload->is_object()) {
    v.error(prefix + "/workload", "must be an object of workload parameters");
    workload = nullptr;
  }
  if (axes && !axes->is_object()) {
    v.error(prefix + "/axes", "must be an object: parameter -> list of values (and optional \"zip\" groups)");
    axes = nullptr;
  }
  BlockParams params(v, family, workload, axes);
  if (workload) {
    for (auto it = workload->begin(); it != workload->end(); ++it) {
      const std::string path = prefix + "/workload/" + it.key();
      const ParamSpec* spec = params.check_name(path, it.key());
      if (!spec) continue;
      if (auto err = check_param_value(*spec, it.value())) v.error(path, *err);
    }
    block.workload = *workload;
  }
  if (axes) {
    AxesValidator(v, params, workload, prefix).validate(*axes);
    block.axes = *axes;
  }
}

// How many points the axes expand to (zip groups count once), without expanding them.
double point_count(const Json& axes) {
  double n = 1;
  for (auto it = axes.begin(); it != axes.end(); ++it) {
    if (it.key() != "zip") {
      n *= static_cast<double>(it.value().size());
      continue;
    }
    for (const auto& group : it.value())
      if (group.is_object() && !group.empty()) n *= static_cast<double>(group.begin()->size());
  }
  return n;
}

inline constexpr double kMaxPointsPerBlock = 1e6;

// Combinations that the family cannot build at all (an unknown projection of the model, ...).
void validate_points(Validator& v, const std::string& prefix, const TaskFamily& family, const RunBlock& block) {
  // A sweep this large is a typo, not a plan, and expanding it would take the machine's memory first.
  if (const double n = point_count(block.axes); n > kMaxPointsPerBlock) {
    v.error(prefix + "/axes", fmt::format("expands to {:.3g} points, more than {:.0e} per block", n, kMaxPointsPerBlock));
    return;
  }
  for (const auto& point : expand_points(block, family)) {
    if (auto bad = family.invalid_point(point)) {
      const std::string where = block.workload.contains(bad->first) ? prefix + "/workload/" + bad->first
                                : block.axes.contains(bad->first)   ? prefix + "/axes/" + bad->first
                                                                    : prefix + "/workload";
      v.error(where, bad->second);
      return;
    }
  }
}

// A claim's point keys must be parameters of the block's family (or of its generators), and its params
// parameters of the claimed method: a key that matches nothing would only say "no data" after the run.
void validate_claim_keys(Validator& v, const Json& claims, const std::string& prefix, const TaskFamily& family) {
  if (!claims.is_array()) return;
  std::set<std::string> point_keys;
  for (const auto& s : family.params()) point_keys.insert(s.name);
  for (const auto* w : Registry::instance().workloads(family.id()))
    for (const auto& s : w->params) point_keys.insert(s.name);
  for (std::size_t i = 0; i < claims.size(); ++i) {
    const Json& c = claims[i];
    if (!c.is_object()) continue;
    const std::string path = fmt::format("{}/claims/{}", prefix, i);
    if (c.contains("point") && c["point"].is_object())
      for (auto it = c["point"].begin(); it != c["point"].end(); ++it)
        if (!point_keys.count(it.key()))
          v.error(path + "/point/" + it.key(), fmt::format("not a parameter of task {}: this claim would match no record",
                                                           family.id()));
    if (!c.contains("params") || !c["params"].is_object() || !c.contains("method") || !c["method"].is_string()) continue;
    const std::string m = c["method"].get<std::string>();
    const MethodInfo* info = Registry::instance().method(m.substr(0, m.find('[')));
    if (!info) continue;
    for (auto it = c["params"].begin(); it != c["params"].end(); ++it)
      if (!find_param(info->params, it.key()))
        v.error(path + "/params/" + it.key(), fmt::format("not a parameter of method {}: this claim would match no record",
                                                          info->id));
  }
}

void validate_block(Validator& v, const Json& doc, const std::string& prefix, RunBlock& block) {
  block.path = prefix;
  const TaskFamily* family = validate_task(v, doc, prefix, block);
  if (doc.contains("measure")) validate_measure(v, doc["measure"], prefix + "/measure", block.measure);
  if (family) validate_workload_and_axes(v, doc, prefix, *family, block);
  if (!doc.contains("methods")) v.error(prefix + "/methods", "required: a non-empty array of methods");
  else if (family) validate_methods(v, doc["methods"], prefix, block.task, block.methods);
  if (doc.contains("claims")) {
    block.claims = doc["claims"];
    validate_claims(v, doc["claims"], prefix, block.methods);
    if (family) validate_claim_keys(v, doc["claims"], prefix, *family);
  }
  if (family && v.errors.empty()) validate_points(v, prefix, *family, block);
}

}  // namespace

ConfigLoad parse_config(const std::string& text, const std::string& source) {
  ConfigLoad result;
  Validator v;
  Json doc;
  try {
    doc = parse_json_strict(text);  // NUL bytes, depth, duplicate keys, numbers beyond a double: line and column
  } catch (const JsonTextError& e) {
    v.error("", e.what());
    result.errors = v.errors;
    return result;
  }
  if (!doc.is_object()) {
    v.error("", "the config must be a JSON object");
    result.errors = v.errors;
    return result;
  }
  Config cfg;
  cfg.raw = doc;
  cfg.source = source;
  const bool multi = doc.contains("runs");
  if (multi)
    v.known_keys(doc, "", {"name", "description", "backend", "measure", "runs"});
  else
    v.known_keys(doc, "", {"name", "description", "task", "backend", "workload", "axes", "methods", "measure", "claims"});

  if (!doc.contains("name") || !doc["name"].is_string()) {
    v.error("/name", "required: a string (used to name the output files)");
  } else {
    cfg.name = doc["name"].get<std::string>();
    if (!std::regex_match(cfg.name, std::regex("[A-Za-z0-9_.-]+")))
      v.error("/name", "must use only letters, digits, '_', '.' and '-' (it names files)");
    else if (cfg.name.find_first_not_of('.') == std::string::npos)
      v.error("/name", fmt::format("'{}' names a folder, not a file: the results would be written outside --out",
                                   cfg.name));
  }
  if (doc.contains("description")) {
    if (!doc["description"].is_string()) v.error("/description", "must be a string");
    else cfg.description = doc["description"].get<std::string>();
  }
  if (doc.contains("backend")) {
    auto choice = doc["backend"].is_string() ? parse_backend_choice(doc["backend"].get<std::string>()) : std::nullopt;
    if (!choice) v.error("/backend", "must be one of: auto, cpu, cuda");
    else cfg.backend = *choice;
  }
  MeasureOptions measure;
  if (doc.contains("measure") && multi) validate_measure(v, doc["measure"], "/measure", measure);

  if (!multi) {
    RunBlock block;
    validate_block(v, doc, "", block);
    cfg.blocks.push_back(std::move(block));
  } else if (!doc["runs"].is_array() || doc["runs"].empty()) {
    v.error("/runs", "must be a non-empty array of run blocks {name, task, workload, axes, methods, ...}");
  } else {
    std::set<std::string> names;
    for (std::size_t i = 0; i < doc["runs"].size(); ++i) {
      const std::string prefix = fmt::format("/runs/{}", i);
      const Json& b = doc["runs"][i];
      if (!b.is_object()) {
        v.error(prefix, "must be an object {name, task, workload, axes, methods, ...}");
        continue;
      }
      v.known_keys(b, prefix, {"name", "description", "task", "workload", "axes", "methods", "measure", "claims"});
      RunBlock block;
      block.measure = measure;
      if (!b.contains("name") || !b["name"].is_string() ||
          !std::regex_match(b["name"].get<std::string>(), std::regex("[A-Za-z0-9_.-]+"))) {
        v.error(prefix + "/name", "required: a name of letters, digits, '_', '.' and '-' (it keys the block's records)");
      } else {
        block.name = b["name"].get<std::string>();
        if (!names.insert(block.name).second) v.error(prefix + "/name", "repeats an earlier block's name");
      }
      validate_block(v, b, prefix, block);
      cfg.blocks.push_back(std::move(block));
    }
  }

  cfg.hash = "fnv1a64:" + hex64(fnv1a64(nlohmann::json::parse(doc.dump()).dump()));
  result.errors = v.errors;
  if (result.errors.empty()) result.config = std::move(cfg);
  return result;
}

ConfigLoad load_config(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) {
    ConfigLoad r;
    r.errors.push_back({"", fmt::format("cannot read config file '{}'", file.string())});
    return r;
  }
  std::stringstream ss;
  ss << in.rdbuf();
  return parse_config(ss.str(), file.string());
}

}  // namespace lrb
