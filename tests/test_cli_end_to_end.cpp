// The command line end to end: the quickstart's records and CSV field by field, kill + --resume,
// list, report, help.
#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>

#include <chrono>
#include <fstream>
#include <set>
#include <sstream>
#include <thread>

#include "harness/records.hpp"
#include "tests/support/cli.hpp"

extern char** environ;

namespace lrb::test {
namespace {

// DESIGN.md section 7: fields every record carries (ok records; skipped/failed carry the first group).
// Every record carries all of them (null where a pass did not run: skipped and failed records).
const std::vector<std::string> kAlways = {
    "schema_version", "run_id", "config_name", "config_hash", "git_sha", "git_dirty", "timestamp", "env", "task",
    "method", "backend", "params", "point", "workload", "status", "reason", "error", "time", "hbm", "floor",
    "bandwidth", "memory", "compression", "fidelity"};

TEST(Quickstart, RecordsCarryEveryFieldForAllThreeFamilies) {
  TempDir dir;
  const auto r = run_lrbench("run " + (source_dir() / "configs/quickstart.json").string() + " --backend cpu --out " +
                             dir.path().string());
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const auto records = read_jsonl(dir / "quickstart.jsonl");
  ASSERT_GE(records.size(), 20u);
  std::set<std::string> tasks;
  for (const auto& rec : records) {
    for (const auto& k : kAlways) EXPECT_TRUE(rec.contains(k)) << k << " missing in " << rec["method_label"];
    const std::string status = rec["status"];
    ASSERT_NE(status, "failed") << rec.value("error", std::string());
    EXPECT_FALSE(rec["hbm"]["available"].get<bool>());
    if (status == "skipped") {
      EXPECT_FALSE(rec["reason"].get<std::string>().empty());
      EXPECT_TRUE(rec["time"].is_null());
      continue;
    }
    tasks.insert(rec["task"].get<std::string>());
    EXPECT_EQ(rec["backend"], "cpu");
    for (const char* k : {"gpu", "sm_count", "l2_bytes", "mem_bytes", "driver", "cuda_runtime", "clocks", "host_cpu",
                          "compiler", "build_type"})
      EXPECT_TRUE(rec["env"].contains(k)) << "env." << k;
    for (const char* k : {"generator", "seed", "source"}) EXPECT_TRUE(rec["workload"].contains(k)) << "workload." << k;
    for (const char* k : {"mode", "unit", "median", "q1", "q3", "min", "max", "n", "stdrel"})
      EXPECT_TRUE(rec["time"].contains(k)) << "time." << k;
    EXPECT_LE(rec["time"]["q1"].get<double>(), rec["time"]["median"].get<double>());
    EXPECT_LE(rec["time"]["median"].get<double>(), rec["time"]["q3"].get<double>());
    EXPECT_GT(rec["time"]["min"].get<double>(), 0.0);
    EXPECT_FALSE(rec["hbm"]["available"].get<bool>());
    EXPECT_FALSE(rec["hbm"]["note"].get<std::string>().empty()) << "hbm.available=false carries its reason";
    for (const char* k : {"read_bytes", "write_bytes", "write_drained_bytes"}) EXPECT_TRUE(rec["hbm"].contains(k));
    for (const char* k : {"bytes", "flops", "time_ms"}) EXPECT_TRUE(rec["floor"].contains(k)) << "floor." << k;
    EXPECT_GT(rec["floor"]["bytes"].get<double>(), 0.0);
    for (const char* k : {"achieved", "ceiling", "fraction"}) EXPECT_TRUE(rec["bandwidth"].contains(k));
    for (const char* k : {"stored_bytes", "peak_bytes", "transient_bytes"}) EXPECT_TRUE(rec["memory"].contains(k));
    EXPECT_TRUE(rec["fidelity"].contains("rel_error"));
    EXPECT_EQ(rec["git_sha"].get<std::string>().size() == 40 || rec["git_sha"] == "unknown", true);
  }
  EXPECT_EQ(tasks, (std::set<std::string>{"adapter_projection", "kv_compression", "lowrank_linear"}));

  // CSV: a header and one row per record.
  std::ifstream csv(dir / "quickstart.csv");
  std::string line;
  std::size_t rows = 0;
  std::getline(csv, line);
  for (const char* col : {"task", "method", "status", "time.median", "fidelity.rel_error", "floor.bytes", "hbm.available"})
    EXPECT_NE(line.find(col), std::string::npos) << col;
  while (std::getline(csv, line)) ++rows;
  EXPECT_EQ(rows, records.size());
  EXPECT_TRUE(std::filesystem::exists(dir / "quickstart.md"));
}

const char* kSlow = R"({
  "name": "slow", "task": "adapter_projection", "backend": "cpu",
  "workload": {"model": "smollm-135m", "projections": ["q"], "rank": 4, "K": 8},
  "axes": {"batch": [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]},
  "methods": ["base_only", "sequential_lora"],
  "measure": {"min_samples": 1000, "max_samples": 1000000, "max_noise": 0.0001, "warmup": 1, "timeout_s": 0.15}
})";

std::size_t line_count(const std::filesystem::path& p) {
  std::ifstream in(p);
  return static_cast<std::size_t>(std::count(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>(), '\n'));
}

TEST(KillAndResume, LosesAndDuplicatesNothing) {
  TempDir dir;
  write_file(dir / "slow.json", kSlow);
  const std::string out = (dir / "out").string();
  const std::string config = (dir / "slow.json").string();
  // Start a run and SIGKILL it after a few records.
  pid_t pid;
  std::vector<std::string> args = {LRBENCH_BINARY, "run", config, "--out", out, "--quiet"};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  ASSERT_EQ(posix_spawn(&pid, LRBENCH_BINARY, nullptr, nullptr, argv.data(), environ), 0);
  const auto jsonl = dir / "out" / "slow.jsonl";
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while ((!std::filesystem::exists(jsonl) || line_count(jsonl) < 4) && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  ::kill(pid, SIGKILL);
  int status = 0;
  ::waitpid(pid, &status, 0);
  ASSERT_TRUE(WIFSIGNALED(status)) << "the run finished before it could be killed; make kSlow slower";
  const std::size_t before = line_count(jsonl);
  ASSERT_LT(before, 24u);

  const auto resumed = run_lrbench("run " + config + " --out " + out + " --resume --quiet");
  ASSERT_EQ(resumed.exit_code, 0) << resumed.output;
  std::vector<std::string> warnings;
  const auto records = read_jsonl(jsonl, &warnings);
  EXPECT_TRUE(warnings.empty());
  std::multiset<std::string> keys;
  for (const auto& r : records) keys.insert(record_key(r));
  EXPECT_EQ(records.size(), 24u);
  EXPECT_EQ(std::set<std::string>(keys.begin(), keys.end()).size(), 24u) << "no duplicates";
  for (int b = 1; b <= 12; ++b)
    for (const char* m : {"base_only", "sequential_lora"})
      EXPECT_EQ(keys.count(record_key("", "batch=" + std::to_string(b), m)), 1u) << b << " " << m;
}

TEST(Cli, ListShowsEveryRegisteredThing) {
  const auto r = run_lrbench("list");
  ASSERT_EQ(r.exit_code, 0);
  for (const char* s : {"adapter_projection", "kv_compression", "lowrank_linear", "base_only", "dense_merge",
                        "sequential_lora", "identity", "int8_per_token", "dense", "two_gemm", "gaussian",
                        "trained_like", "shared_subspace", "structured", "spectral", "llama2-7b", "tiny", "overlap"})
    EXPECT_NE(r.output.find(s), std::string::npos) << s;
  EXPECT_EQ(r.output.find("test_fault"), std::string::npos) << "test-only methods are hidden";
}

TEST(Cli, HelpEverywhereAndUsageErrors) {
  for (const char* sub : {"", "run ", "validate ", "list ", "report "}) {
    const auto r = run_lrbench(std::string(sub) + "--help");
    EXPECT_EQ(r.exit_code, 0) << sub;
    EXPECT_NE(r.output.find("Usage"), std::string::npos) << sub;
  }
  EXPECT_EQ(run_lrbench("").exit_code, 2);
  EXPECT_EQ(run_lrbench("frobnicate").exit_code, 2);
  EXPECT_EQ(run_lrbench("run " + (source_dir() / "configs/quickstart.json").string() + " --shard 3/2").exit_code, 2);
}

TEST(Cli, CudaBackendWithoutCudaIsAClearError) {
  TempDir dir;
  const auto r = run_lrbench("run " + (source_dir() / "configs/quickstart.json").string() +
                             " --backend cuda --out " + dir.path().string());
  if (r.exit_code == 0) GTEST_SKIP() << "this build has CUDA and a GPU";
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.output.find("cuda"), std::string::npos) << r.output;
  EXPECT_FALSE(std::filesystem::exists(dir / "quickstart.jsonl"));
}

TEST(Cli, ReportWritesCsvAndMarkdown) {
  TempDir dir;
  write_file(dir / "r.jsonl",
             "{\"task\":\"t\",\"method\":\"m\",\"method_label\":\"m\",\"point_id\":\"a=1\",\"status\":\"ok\","
             "\"time\":{\"median\":1.5,\"samples\":[1,2]},\"note\":\"with, comma\"}\n"
             "{\"task\":\"t\",\"method\":\"m\",\"method_label\":\"m\",\"point_id\":\"a=2\",\"status\":\"skipped\","
             "\"reason\":\"why\"}\n");
  const auto r = run_lrbench("report " + (dir / "r.jsonl").string());
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const std::string csv = read_file(dir / "r.csv");
  EXPECT_NE(csv.find("time.median"), std::string::npos);
  EXPECT_EQ(csv.find("samples"), std::string::npos) << "raw samples stay in the JSONL";
  EXPECT_NE(csv.find("\"with, comma\""), std::string::npos) << "CSV quoting";
  EXPECT_EQ(std::count(csv.begin(), csv.end(), '\n'), 3);
  EXPECT_NE(read_file(dir / "r.md").find("| m | a=2 | skipped |"), std::string::npos);
}

}  // namespace
}  // namespace lrb::test
