#include "analysis/gbench.hpp"

#include <algorithm>
#include <cctype>
#include <map>
#include <string>

#include "harness/records.hpp"
#include "harness/sweep.hpp"

namespace lrb {
namespace {

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

}  // namespace

Json gbench_from_records(const std::vector<Json>& records) {
  const Json first = records.empty() ? Json::object() : records.front();
  const Json env = first.is_object() && first.contains("env") && first["env"].is_object() ? first["env"] : Json::object();
  // Google Benchmark's context fields, from the first record's environment (a GPU run: the GPU and its SM
  // clock stand where a CPU benchmark names its host and CPU clock), plus lrbench's provenance.
  Json context = {
      {"date", record_string_at(first, {"timestamp"}, "")},
      {"host_name", record_string_at(env, {"gpu"}, record_string_at(env, {"host_cpu"}, "unknown"))},
      {"executable", "lrbench"},
      {"num_cpus", static_cast<int>(record_number_at(env, {"host_threads"}, 0))},
      {"mhz_per_cpu", static_cast<int>(record_number_at(env, {"clocks", "sm_mhz"}, 0))},
      {"cpu_scaling_enabled", false},
      {"caches", Json::array()},
      {"load_avg", Json::array()},
      {"library_build_type", lower(record_string_at(env, {"build_type"}, "release"))},
      {"lrbench_config", record_string_at(first, {"config_name"}, "")},
      {"lrbench_config_hash", record_string_at(first, {"config_hash"}, "")},
      {"lrbench_git_sha", record_string_at(first, {"git_sha"}, "")},
      {"lrbench_backend", record_string_at(first, {"backend"}, "")}};
  Json benchmarks = Json::array();
  std::map<std::string, int> family_of;  // method label -> family index (Google Benchmark: one per BENCHMARK)
  std::map<std::string, int> instances;
  for (const auto& r : records) {
    if (record_string(r, "status") != "ok" || record_number_at(r, {"time", "median"}, -1) < 0) continue;
    const std::string label = record_string(r, "method_label");
    const std::string name = filter_subject(record_string(r, "block"), label, record_string(r, "point_id"));
    const auto fam = family_of.emplace(label, static_cast<int>(family_of.size())).first->second;
    const double t = record_number_at(r, {"time", "median"}, 0);
    const std::string unit = record_string_at(r, {"time", "unit"}, "ms");
    Json b = {{"name", name},
              {"family_index", fam},
              {"per_family_instance_index", instances[label]++},
              {"run_name", name},
              {"run_type", "iteration"},
              {"repetitions", 1},
              {"repetition_index", 0},
              {"threads", 1},
              {"iterations", static_cast<std::int64_t>(record_number_at(r, {"time", "n"}, 1))},
              {"real_time", t},
              {"cpu_time", t},  // device time: lrbench times the GPU (or the host's wall clock), not CPU time
              {"time_unit", unit}};
    const double scale = unit == "s" ? 1.0 : unit == "ms" ? 1e-3 : unit == "us" ? 1e-6 : 1e-9;
    const double floor_bytes = record_number_at(r, {"floor", "bytes"}, -1);
    if (floor_bytes > 0 && t > 0) b["bytes_per_second"] = floor_bytes / (t * scale);  // the floor's bytes
    if (t > 0) b["items_per_second"] = 1.0 / (t * scale);                             // runs of the method
    const double fraction = record_number_at(r, {"floor", "fraction"}, -1);
    if (fraction >= 0) b["floor_fraction"] = fraction;
    const double err = record_number_at(r, {"fidelity", "rel_error"}, -1);
    if (err >= 0) b["rel_error"] = err;
    benchmarks.push_back(std::move(b));
  }
  return {{"context", context}, {"benchmarks", benchmarks}};
}

}  // namespace lrb
