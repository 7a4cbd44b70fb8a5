// The bad-input catalogue (issue 9): each input that once crashed lrbench or gave a silently wrong result,
// with the exit code and the message it must give now. Config inputs run through the real CLI under both
// `validate` and `run`: exit 2, one line naming the problem, nothing written.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <sstream>

#include "harness/memory_limits.hpp"
#include "harness/records.hpp"
#include "tests/support/cli.hpp"

namespace lrb::test {
namespace {

const char* kValid = R"({
  "name": "v", "task": "adapter_projection", "backend": "cpu",
  "workload": {"model": "tiny", "layers": 1, "generator": "trained_like"},
  "axes": {"K": [1, 2], "rank": [1], "batch": [1]},
  "methods": ["sequential_lora"],
  "measure": {"min_samples": 2, "timeout_s": 0.05}
})";

std::string with(const std::string& from, const std::string& to) {
  std::string s = kValid;
  const auto at = s.find(from);
  if (at == std::string::npos) throw std::logic_error("test bug: '" + from + "' not in the valid config");
  return s.replace(at, from.size(), to);
}

struct BadInput {
  const char* name;
  std::string text;
  const char* message;  // a substring of the one error line
};

std::string deep(int levels) { return std::string(levels, '[') + std::string(levels, ']'); }

std::vector<BadInput> configs() {
  return {
      {"nested_70000_deep", deep(70000), "nested deeper than 64 levels"},
      {"nested_in_a_workload", with("\"layers\": 1", "\"layers\": 1, \"x\": " + deep(100)), "nested deeper than 64"},
      {"K_2_pow_31", with("\"K\": [1, 2]", "\"K\": [1, 2147483648]"), "(got 2147483648)"},
      {"K_2_pow_32_plus_2", with("\"K\": [1, 2]", "\"K\": [4294967298]"), "(got 4294967298)"},
      {"rank_2_pow_32_plus_2", with("\"rank\": [1]", "\"rank\": [4294967298]"), "(got 4294967298)"},
      {"batch_2_pow_32_plus_2", with("\"batch\": [1]", "\"batch\": [4294967298]"), "(got 4294967298)"},
      {"layers_2_pow_32_plus_2", with("\"layers\": 1", "\"layers\": 4294967298"), "(got 4294967298)"},
      {"d_in_2_pow_32_plus_2", with("\"layers\": 1", "\"layers\": 1, \"d_in\": 4294967298"), "(got 4294967298)"},
      {"d_out_2_pow_32_plus_2", with("\"layers\": 1", "\"layers\": 1, \"d_out\": 4294967298"), "(got 4294967298)"},
      {"seed_beyond_2_pow_53", with("\"layers\": 1", "\"layers\": 1, \"seed\": 18446744073709551615"),
       "(got 18446744073709551615)"},
      {"nul_byte_ends_the_config", std::string(kValid) + std::string(1, '\0') + "{\"more\": 1}", "a NUL byte"},
      {"nul_byte_inside_a_string", with("\"name\": \"v\"", std::string("\"name\": \"v") + '\0' + "w\""), "a NUL byte"},
      {"duplicate_key", with("\"name\": \"v\",", "\"name\": \"v\", \"name\": \"w\","), "duplicate key \"name\""},
      {"duplicate_key_escaped", with("\"name\": \"v\",", "\"name\": \"v\", \"n\\u0061me\": \"w\","),
       "duplicate key \"name\""},
      {"duplicate_workload_key", with("\"layers\": 1", "\"layers\": 1, \"layers\": 1"), "line 3, column"},
      {"axis_1_and_1_point_0", with("\"K\": [1, 2]", "\"K\": [1, 2], \"alpha\": [1, 1.0]"), "repeats the value"},
      {"number_beyond_a_double", with("\"layers\": 1", "\"layers\": 1, \"alpha\": 1e400"), "outside the range of a double"},
      {"name_dot", with("\"name\": \"v\"", "\"name\": \".\""), "names a folder"},
      {"name_dot_dot", with("\"name\": \"v\"", "\"name\": \"..\""), "names a folder"},
      {"sweep_of_10_to_the_7_points",
       with("\"axes\": {\"K\": [1, 2], \"rank\": [1], \"batch\": [1]}",
            "\"axes\": {\"K\": [" + [] {
              std::string v;
              for (int i = 1; i <= 1000; ++i) v += (i > 1 ? "," : "") + std::to_string(i);
              return v;
            }() + "], \"batch\": [" + [] {
              std::string v;
              for (int i = 1; i <= 1000; ++i) v += (i > 1 ? "," : "") + std::to_string(i);
              return v;
            }() + "], \"zip\": [{\"rank\": [1, 2, 3, 4, 5, 6, 7, 8, 9, 10], \"alpha\": [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]}]}"),
       "expands to 1e+07 points"},
      {"claim_point_key_matching_nothing",
       with("\"measure\":", "\"claims\": [{\"metric\": \"time.median\", \"method\": \"sequential_lora\", \"value\": 1, "
                            "\"source\": \"x\", \"point\": {\"Kay\": 2}}], \"measure\":"),
       "/claims/0/point/Kay: not a parameter of task adapter_projection"},
      {"claim_params_matching_nothing",
       with("\"measure\":", "\"claims\": [{\"metric\": \"time.median\", \"method\": \"sequential_lora\", \"value\": 1, "
                            "\"source\": \"x\", \"params\": {\"layout\": \"u8x2\"}}], \"measure\":"),
       "/claims/0/params/layout: not a parameter of method sequential_lora"},
  };
}

class BadConfigInput : public ::testing::TestWithParam<BadInput> {};

TEST_P(BadConfigInput, ExitTwoOneMessageNothingWritten) {
  const BadInput& c = GetParam();
  TempDir dir;
  const auto config = dir / "config.json";
  write_file(config, c.text);
  for (const std::string command : {"validate", "run"}) {
    const auto out = dir / "out";
    const auto r = run_lrbench(command + " " + config.string() + (command == "run" ? " --out " + out.string() : ""));
    EXPECT_EQ(r.exit_code, 2) << command << " " << c.name << ":\n" << r.output.substr(0, 2000);
    std::istringstream lines(r.output);
    std::string line;
    int count = 0;
    while (std::getline(lines, line)) count += !line.empty();
    EXPECT_EQ(count, 1) << c.name << ":\n" << r.output.substr(0, 2000);
    EXPECT_NE(r.output.find(c.message), std::string::npos) << c.name << ": expected '" << c.message << "' in:\n"
                                                           << r.output.substr(0, 2000);
    EXPECT_FALSE(std::filesystem::exists(out)) << c.name;
  }
}

INSTANTIATE_TEST_SUITE_P(Catalogue, BadConfigInput, ::testing::ValuesIn(configs()),
                         [](const auto& info) { return std::string(info.param.name); });

struct BadCli {
  const char* name;
  const char* args;  // after "run CONFIG --out DIR"
  int exit_code;
  const char* message;
};

class BadCommandLine : public ::testing::TestWithParam<BadCli> {};

TEST_P(BadCommandLine, UsageErrorsExitTwoBeforeAnythingRuns) {
  const BadCli& c = GetParam();
  TempDir dir;
  write_file(dir / "config.json", kValid);
  const auto r = run_lrbench("run " + (dir / "config.json").string() + " --out " + (dir / "out").string() + " " + c.args);
  EXPECT_EQ(r.exit_code, c.exit_code) << c.name << ":\n" << r.output;
  EXPECT_NE(r.output.find(c.message), std::string::npos) << c.name << ":\n" << r.output;
  EXPECT_FALSE(std::filesystem::exists(dir / "out" / "v.jsonl")) << c.name;
}

INSTANTIATE_TEST_SUITE_P(Catalogue, BadCommandLine,
                         ::testing::Values(BadCli{"shard_trailing_text", "--shard 1/2abc", 2, "expected I/N"},
                                           BadCli{"shard_three_parts", "--shard 0/2/7", 2, "expected I/N"},
                                           BadCli{"shard_huge", "--shard 0/99999999999", 2, "expected I/N"},
                                           BadCli{"shard_index_too_large", "--shard 2/2", 2, "expected I/N"},
                                           BadCli{"filter_not_a_regex", "--filter '['", 2, "is not a valid regex"}),
                         [](const auto& info) { return std::string(info.param.name); });

// Points that cannot fit: a skipped record with the arithmetic, found before anything is allocated (these
// once allocated for minutes and ended in bad_alloc or the OOM killer, leaving no record).
TEST(BadSize, PointsThatCannotFitAreSkippedWithTheArithmetic) {
  const char* configs[] = {
      R"({"name": "big_lowrank", "task": "lowrank_linear", "backend": "cpu",
          "workload": {"d_in": 131072, "d_out": 131072, "rank": 8}, "methods": ["dense"]})",
      R"({"name": "big_kv", "task": "kv_compression", "backend": "cpu",
          "workload": {"model": "llama2-7b", "tokens": 1048576}, "methods": ["identity"]})",
      R"({"name": "big_adapters", "task": "adapter_projection", "backend": "cpu",
          "workload": {"model": "llama2-7b", "layers": 32, "K": 100000, "rank": 64}, "methods": ["sequential_lora"]})",
  };
  for (const char* text : configs) {
    TempDir dir;
    write_file(dir / "c.json", text);
    const auto r = run_lrbench("run " + (dir / "c.json").string() + " --out " + dir.path().string());
    EXPECT_EQ(r.exit_code, 0) << r.output;
    std::vector<std::string> warnings;
    std::vector<Json> records;
    for (const auto& e : std::filesystem::directory_iterator(dir.path()))
      if (e.path().extension() == ".jsonl") records = read_jsonl(e.path(), &warnings);
    ASSERT_EQ(records.size(), 1u) << r.output;
    EXPECT_EQ(records[0]["status"], "skipped") << records[0].dump().substr(0, 500);
    const std::string reason = records[0]["reason"].get<std::string>();
    EXPECT_NE(reason.find("GiB of host memory"), std::string::npos) << reason;
    EXPECT_NE(reason.find("more than 80% of"), std::string::npos) << reason;
  }
}

// The memory guard once used physical memory only, ignoring a container's cgroup limit.
TEST(BadSize, TheCgroupLimitIsTheHostLimitWhereItIsSmaller) {
  TempDir dir;
  write_file(dir / "memory.max", "1073741824\n");
  write_file(dir / "unlimited", "max\n");
  std::string source;
  EXPECT_EQ(host_memory_limit_from({(dir / "unlimited").string(), (dir / "memory.max").string()}, &source), 1ull << 30);
  EXPECT_NE(source.find("cgroup limit"), std::string::npos) << source;
  EXPECT_NE(source.find("memory.max"), std::string::npos) << source;
  EXPECT_GT(host_memory_limit_from({(dir / "unlimited").string()}, &source), 0u);
  EXPECT_EQ(source, "physical memory");
}

TEST(BadOutput, AnUnwritableOutFolderStopsTheRunBeforeAnyMeasurement) {
  TempDir dir;
  write_file(dir / "config.json", kValid);
  write_file(dir / "file", "not a folder");
  const auto r = run_lrbench("run " + (dir / "config.json").string() + " --out " + (dir / "file" / "out").string());
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("cannot create"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("Not a directory"), std::string::npos) << "the OS reason:\n" << r.output;
  EXPECT_EQ(r.output.find("[1/"), std::string::npos) << "no record was measured:\n" << r.output;
}

TEST(BadOutput, ASecondWriterOfOneResultsFileIsRefusedAtOnce) {
  TempDir dir;
  const auto path = dir / "r.jsonl";
  JsonlWriter first(path);
  try {
    JsonlWriter second(path);
    FAIL() << "a second writer got the lock";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("another lrbench process is writing it"), std::string::npos) << e.what();
  }
  first.write(Json{{"a", 1}});
  EXPECT_EQ(read_file(path), "{\"a\":1}\n");
}

// A full disk once gave no OS reason and could leave half a record or a *.tmp report behind.
bool every_line_complete(const std::filesystem::path& jsonl) {
  if (!std::filesystem::exists(jsonl)) return true;
  const std::string text = read_file(jsonl);
  return text.empty() || text.back() == '\n';
}
bool any_temporary_file(const std::filesystem::path& dir) {
  for (const auto& e : std::filesystem::recursive_directory_iterator(dir))
    if (e.path().extension() == ".tmp") return true;
  return false;
}

TEST(BadOutput, AFullDiskDuringARunGivesTheOsReasonAndNoHalfRecord) {
  TempDir dir;
  write_file(dir / "config.json", kValid);
  const auto r = run_lrbench_with_file_limit(1, "run " + (dir / "config.json").string() + " --out " + (dir / "out").string());
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("cannot write to"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("File too large"), std::string::npos) << "the OS reason:\n" << r.output;
  EXPECT_TRUE(every_line_complete(dir / "out" / "v.jsonl")) << read_file(dir / "out" / "v.jsonl").substr(0, 300);
  EXPECT_FALSE(any_temporary_file(dir.path()));
}

TEST(BadOutput, AFullDiskDuringAReportLeavesNoReportAndNoTemporaryFile) {
  TempDir dir;
  std::string lines;
  for (int i = 0; i < 200; ++i)
    lines += "{\"status\": \"ok\", \"method\": \"m" + std::to_string(i) + "\", \"time\": {\"median\": 1.5}}\n";
  write_file(dir / "r.jsonl", lines);
  const auto r = run_lrbench_with_file_limit(2, "report " + (dir / "r.jsonl").string());
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("File too large"), std::string::npos) << "the OS reason:\n" << r.output;
  EXPECT_FALSE(std::filesystem::exists(dir / "r.csv"));
  EXPECT_FALSE(std::filesystem::exists(dir / "r.md"));
  EXPECT_FALSE(any_temporary_file(dir.path()));
}

// Fields of the wrong type once stopped the CSV part way, leaving a partial file: now every record is
// reported (an unreadable cell is empty) or, where nothing can be formed, no file is written at all.
TEST(BadReport, RecordsWithWrongTypesGiveACompleteReport) {
  TempDir dir;
  write_file(dir / "r.jsonl",
             "{\"status\": \"ok\", \"method\": \"first\", \"time\": {\"median\": 1.0}}\n"
             "{\"status\": 7, \"method\": [1], \"block\": {}, \"point\": \"x\", \"params\": 3, \"backend\": null, "
             "\"time\": {\"median\": \"fast\", \"n\": []}, \"fidelity\": 3, \"note\": {\"a\": 1}}\n"
             "{\"status\": \"ok\", \"method\": \"last\", \"time\": {\"median\": 3.0}}\n");
  const auto r = run_lrbench("report " + (dir / "r.jsonl").string());
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const std::string csv = read_file(dir / "r.csv");
  EXPECT_EQ(std::count(csv.begin(), csv.end(), '\n'), 4) << csv;  // the header and all three records
  EXPECT_NE(csv.find("last"), std::string::npos) << csv;
  EXPECT_FALSE(any_temporary_file(dir.path()));
  // The claims table reads the same records.
  write_file(dir / "config.json",
             with("\"measure\":", "\"claims\": [{\"metric\": \"time.median\", \"method\": \"sequential_lora\", "
                                  "\"value\": 1, \"source\": \"x\"}], \"measure\":"));
  const auto c = run_lrbench("report " + (dir / "r.jsonl").string() + " --config " + (dir / "config.json").string());
  EXPECT_EQ(c.exit_code, 0) << c.output;
}

TEST(BadReport, ADeepRecordLineIsSkippedWithAWarningNotACrash) {
  TempDir dir;
  write_file(dir / "r.jsonl", "{\"status\": \"ok\", \"x\": " + deep(70000) + "}\n");
  const auto r = run_lrbench("report " + (dir / "r.jsonl").string());
  EXPECT_EQ(r.exit_code, 0) << r.output.substr(0, 2000);
  EXPECT_NE(r.output.find("nested deeper than 64 levels"), std::string::npos) << r.output.substr(0, 2000);
}

TEST(BadReport, ABadConfigWritesNoReport) {
  TempDir dir;
  write_file(dir / "r.jsonl", "{\"status\": \"ok\", \"config_hash\": \"x\"}\n");
  write_file(dir / "bad.json", "{\"name\": 1}");
  const auto r = run_lrbench("report " + (dir / "r.jsonl").string() + " --config " + (dir / "bad.json").string());
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_FALSE(std::filesystem::exists(dir / "r.csv")) << "the CSV was written before the config was rejected";
  EXPECT_FALSE(std::filesystem::exists(dir / "r.md"));
}

TEST(BadReport, ClaimsOfAnotherConfigComeWithAWarning) {
  TempDir dir;
  write_file(dir / "r.jsonl", "{\"status\": \"ok\", \"config_hash\": \"fnv1a64:0000\"}\n");
  write_file(dir / "config.json", kValid);
  const auto r = run_lrbench("report " + (dir / "r.jsonl").string() + " --config " + (dir / "config.json").string());
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("records another config produced"), std::string::npos) << r.output;
}

}  // namespace
}  // namespace lrb::test
