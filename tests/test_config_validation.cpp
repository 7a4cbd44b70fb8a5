// Malformed configs: each gives one clear error naming the JSON path, exit code 2, and no output.
// Run through the real CLI, as a user would meet them.
#include <gtest/gtest.h>

#include <filesystem>
#include <sstream>

#include "tests/support/cli.hpp"

namespace lrb::test {
namespace {

// A valid single-block config; cases replace parts of it.
const char* kValid = R"({
  "name": "v", "task": "adapter_projection", "backend": "cpu",
  "workload": {"model": "tiny", "layers": 1, "generator": "trained_like"},
  "axes": {"K": [1, 2], "rank": [1, 4], "batch": [1, 3]},
  "methods": ["base_only", "sequential_lora"],
  "measure": {"min_samples": 2, "timeout_s": 0.05}
})";

struct BadConfig {
  const char* name;
  std::string text;
  const char* path;  // the JSON pointer the single error must name
};

std::string with(const std::string& from, const std::string& to) {
  std::string s = kValid;
  const auto at = s.find(from);
  if (at == std::string::npos) throw std::logic_error("test bug: '" + from + "' not in the valid config");
  return s.replace(at, from.size(), to);
}

std::vector<BadConfig> cases() {
  return {
      {"not_json", "{\"name\": \"v\",, }", "/:"},
      {"not_an_object", "[1, 2]", "/:"},
      {"unknown_top_level_key", with("\"backend\": \"cpu\"", "\"backend\": \"cpu\", \"axis\": {}"), "/axis:"},
      {"missing_name", with("\"name\": \"v\", ", ""), "/name:"},
      {"name_with_spaces", with("\"name\": \"v\"", "\"name\": \"my run\""), "/name:"},
      {"unknown_task", with("\"task\": \"adapter_projection\"", "\"task\": \"lora\""), "/task:"},
      {"unknown_backend", with("\"backend\": \"cpu\"", "\"backend\": \"gpu\""), "/backend:"},
      {"unknown_workload_key", with("\"layers\": 1", "\"layers\": 1, \"hidden\": 64"), "/workload/hidden:"},
      {"wrong_type", with("\"layers\": 1", "\"layers\": \"one\""), "/workload/layers:"},
      {"empty_axis", with("\"K\": [1, 2]", "\"K\": []"), "/axes/K:"},
      {"negative_axis_value", with("\"rank\": [1, 4]", "\"rank\": [1, -4]"), "/axes/rank/1:"},
      {"zero_batch", with("\"batch\": [1, 3]", "\"batch\": [0, 3]"), "/axes/batch/0:"},
      {"axis_not_a_list", with("\"batch\": [1, 3]", "\"batch\": 3"), "/axes/batch:"},
      {"repeated_axis_value", with("\"K\": [1, 2]", "\"K\": [2, 2]"), "/axes/K/1:"},
      {"axis_also_in_workload", with("\"layers\": 1", "\"layers\": 1, \"K\": 4"), "/axes/K:"},
      {"unknown_method", with("\"sequential_lora\"", "\"punica\""), "/methods/1:"},
      {"method_of_another_task", with("\"base_only\"", "\"int8_per_token\""), "/methods/0:"},
      {"unknown_method_param", with("\"base_only\"", "{\"id\": \"base_only\", \"params\": {\"tile\": 64}}"),
       "/methods/0/params/tile:"},
      {"empty_methods", with("\"base_only\", \"sequential_lora\"", ""), "/methods:"},
      {"unknown_generator", with("\"generator\": \"trained_like\"", "\"generator\": \"lora_zoo\""), "/workload/generator:"},
      {"param_of_unused_generator", with("\"generator\": \"trained_like\"", "\"generator\": \"trained_like\", \"overlap\": 0.5"),
       "/workload/overlap:"},
      {"projection_not_in_model", with("\"layers\": 1", "\"layers\": 1, \"projections\": [\"q\", \"qkv\"]"),
       "/workload/projections:"},
      {"too_many_layers", with("\"layers\": 1", "\"layers\": 3"), "/workload/layers:"},
      {"measure_negative_warmup", with("\"min_samples\": 2", "\"min_samples\": 2, \"warmup\": -1"), "/measure/warmup:"},
      {"measure_unknown_key", with("\"min_samples\": 2", "\"min_samples\": 2, \"repeats\": 3"), "/measure/repeats:"},
      {"zip_unequal_lengths",
       with("\"rank\": [1, 4], \"batch\": [1, 3]", "\"zip\": [{\"batch\": [1, 3], \"rank\": [2]}]"),
       "/axes/zip/0/rank:"},
      {"claim_without_source",
       with("\"measure\":", "\"claims\": [{\"metric\": \"latency_ms\", \"method\": \"base_only\", \"value\": 3.59}], \"measure\":"),
       "/claims/0/source:"},
      {"claim_for_absent_method",
       with("\"measure\":",
            "\"claims\": [{\"metric\": \"latency_ms\", \"method\": \"dense_merge\", \"value\": 1, \"source\": \"x\"}], "
            "\"measure\":"),
       "/claims/0/method:"},
      {"claim_negative_tolerance",
       with("\"measure\":",
            "\"claims\": [{\"metric\": \"time.median\", \"method\": \"base_only\", \"value\": 1, \"source\": \"x\", "
            "\"rel_tol\": -0.1}], \"measure\":"),
       "/claims/0/rel_tol:"},
      {"claim_baseline_not_an_object",
       with("\"measure\":",
            "\"claims\": [{\"metric\": \"time.median\", \"method\": \"base_only\", \"value\": 1, \"source\": \"x\", "
            "\"baseline\": \"sequential_lora\"}], \"measure\":"),
       "/claims/0/baseline:"},
      {"block_with_unknown_task",
       R"({"name": "m", "runs": [{"name": "a", "task": "kv_compression", "methods": ["identity"]},
                                  {"name": "b", "task": "svd", "methods": ["dense"]}]})",
       "/runs/1/task:"},
      {"method_axis_empty", with("\"base_only\"", "{\"id\": \"base_only\", \"axes\": {}}"), "/methods/0/axes:"},
  };
}

std::string fmt_command(const char* command, const std::filesystem::path& config, const std::filesystem::path& out) {
  std::string c = std::string(command) + " " + config.string();
  if (std::string(command) == "run") c += " --out " + out.string();
  return c;
}

class MalformedConfig : public ::testing::TestWithParam<BadConfig> {};

TEST_P(MalformedConfig, OneErrorNamingThePathNoOutput) {
  const BadConfig& c = GetParam();
  TempDir dir;
  const auto config = dir / "config.json";
  write_file(config, c.text);
  for (const char* command : {"run", "validate"}) {
    const auto out = dir / "out";
    const auto r = run_lrbench(fmt_command(command, config, out));
    EXPECT_EQ(r.exit_code, 2) << command << " " << c.name << ":\n" << r.output;
    // Exactly one line, and it names the path.
    std::istringstream lines(r.output);
    std::string line;
    int count = 0;
    while (std::getline(lines, line)) count += !line.empty();
    EXPECT_EQ(count, 1) << c.name << ":\n" << r.output;
    EXPECT_NE(r.output.find(std::string(": ") + c.path), std::string::npos)
        << c.name << ": expected the path " << c.path << " in:\n" << r.output;
    EXPECT_FALSE(std::filesystem::exists(out)) << c.name << ": an invalid config must write nothing";
  }
}

INSTANTIATE_TEST_SUITE_P(Cases, MalformedConfig, ::testing::ValuesIn(cases()),
                         [](const auto& info) { return std::string(info.param.name); });

TEST(ValidConfig, TheBaseOfTheMalformedCasesIsValid) {
  TempDir dir;
  write_file(dir / "config.json", kValid);
  const auto r = run_lrbench("validate " + (dir / "config.json").string());
  EXPECT_EQ(r.exit_code, 0) << r.output;
}

TEST(ValidConfig, EveryShippedConfigValidates) {
  int n = 0;
  for (const auto& e : std::filesystem::recursive_directory_iterator(source_dir() / "configs")) {
    if (e.path().extension() != ".json") continue;
    const auto r = run_lrbench("validate " + e.path().string());
    EXPECT_EQ(r.exit_code, 0) << e.path() << ":\n" << r.output;
    ++n;
  }
  EXPECT_GE(n, 1);
}

TEST(ValidConfig, MissingFileIsAUsageError) {
  const auto r = run_lrbench("validate /nonexistent/config.json");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.output.find("cannot read"), std::string::npos) << r.output;
}

}  // namespace
}  // namespace lrb::test
