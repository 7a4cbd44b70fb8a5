// The runner: failed records for a throwing or NaN-returning method while other points complete;
// skipped records with reasons; resume loses and duplicates nothing; shards partition the points.
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "harness/config.hpp"
#include "harness/records.hpp"
#include "harness/runner.hpp"
#include "tests/support/cli.hpp"

namespace lrb::test {
namespace {

Config parse(const std::string& text) {
  auto load = parse_config(text, "test");
  if (!load.config) throw std::runtime_error(load.errors.at(0).text());
  return *load.config;
}

RunSummary run(const Config& c, const std::filesystem::path& out, bool resume = false, const std::string& filter = "",
               int shard = 0, int shards = 1) {
  RunOptions o;
  o.out_dir = out;
  o.resume = resume;
  o.filter = filter;
  o.shard_index = shard;
  o.shard_count = shards;
  o.progress = false;
  std::ostringstream log;
  return run_config(c, o, log);
}

const char* kFaults = R"({
  "name": "faults", "task": "adapter_projection", "backend": "cpu",
  "workload": {"model": "tiny", "projections": ["q"], "K": 4, "rank": 2},
  "axes": {"batch": [1, 2, 3]},
  "methods": [{"id": "test_fault", "params": {"mode": "throw", "fail_on_batch": 2}},
              {"id": "test_fault", "params": {"mode": "nan", "fail_on_batch": 3}},
              "sequential_lora"],
  "measure": {"min_samples": 3, "warmup": 1, "timeout_s": 0.05}
})";

TEST(Runner, FaultsBecomeFailedRecordsAndTheRunGoesOn) {
  TempDir dir;
  const RunSummary s = run(parse(kFaults), dir.path());
  EXPECT_EQ(s.ok, 7);
  EXPECT_EQ(s.failed, 2);
  const auto records = read_jsonl(s.jsonl);
  ASSERT_EQ(records.size(), 9u);
  std::map<std::string, Json> by_key;
  for (const auto& r : records) by_key[record_key(r)] = r;
  const Json& thrown = by_key.at(record_key("", "batch=2", "test_fault[mode=throw,fail_on_batch=2]"));
  EXPECT_EQ(thrown["status"], "failed");
  EXPECT_NE(thrown["error"].get<std::string>().find("injected fault"), std::string::npos) << thrown["error"];
  const Json& nan = by_key.at(record_key("", "batch=3", "test_fault[mode=nan,fail_on_batch=3]"));
  EXPECT_EQ(nan["status"], "failed");
  EXPECT_NE(nan["error"].get<std::string>().find("NaN"), std::string::npos) << nan["error"];
  EXPECT_EQ(nan["fidelity"]["nonfinite_elements"], 1) << "the failed record keeps what was measured";
  for (const auto& r : records) {
    const std::string mode = r["params"].value("mode", std::string());
    const bool expected_failure = (r["point_id"] == "batch=2" && mode == "throw") ||
                                  (r["point_id"] == "batch=3" && mode == "nan");
    EXPECT_EQ(r["status"], expected_failure ? "failed" : "ok") << r["method_label"] << " " << r["point_id"];
    if (!expected_failure) {
      EXPECT_GT(r["time"]["median"].get<double>(), 0.0);
      EXPECT_LT(r["fidelity"]["rel_error"].get<double>(), 1e-5);
    }
  }
  // Reports are analysis's, written by the CLI (test_cli_end_to_end), not by the runner.
  EXPECT_FALSE(std::filesystem::exists(s.csv));
  EXPECT_FALSE(std::filesystem::exists(s.md));
}

TEST(Runner, ImpossiblePointsAndUnsupportedMethodsAreSkippedWithReasons) {
  TempDir dir;
  const RunSummary s = run(parse(R"({"name": "skips", "task": "adapter_projection", "backend": "cpu",
      "workload": {"model": "tiny", "projections": ["q"], "rank": 1, "batch": 4, "popularity": "distinct"},
      "axes": {"K": [2, 4], "mode": ["base+adapter", "adapter-only"]},
      "methods": ["base_only"], "measure": {"min_samples": 2, "timeout_s": 0.02}})"),
                           dir.path());
  const auto records = read_jsonl(s.jsonl);
  ASSERT_EQ(records.size(), 4u);
  EXPECT_EQ(s.ok, 1);
  EXPECT_EQ(s.skipped, 3);
  for (const auto& r : records) {
    if (r["status"] != "skipped") continue;
    const std::string reason = r["reason"];
    EXPECT_TRUE(reason.find("K >= batch") != std::string::npos || reason.find("adapter path") != std::string::npos)
        << reason;
  }
}

const char* kMany = R"({
  "name": "many", "task": "adapter_projection", "backend": "cpu",
  "workload": {"model": "tiny", "projections": ["q"], "rank": 2},
  "axes": {"K": [1, 2, 3], "batch": [1, 2]},
  "methods": ["base_only", "sequential_lora"],
  "measure": {"min_samples": 2, "warmup": 0, "timeout_s": 0.01}
})";

std::multiset<std::string> keys_of(const std::filesystem::path& jsonl) {
  std::multiset<std::string> keys;
  for (const auto& r : read_jsonl(jsonl)) keys.insert(record_key(r));
  return keys;
}

TEST(Runner, ResumeCompletesAnInterruptedRunWithoutDuplicates) {
  TempDir dir;
  const Config c = parse(kMany);
  const RunSummary first = run(c, dir.path(), false, "batch=1");  // half of the pairs
  EXPECT_EQ(first.ok, 6);
  // A kill in the middle of a write leaves a partial last line: resume must cut it off, not keep it.
  { std::ofstream(first.jsonl, std::ios::app) << "{\"schema_version\":1,\"point_id\":\"K=3,ba"; }
  const RunSummary second = run(c, dir.path(), true);
  EXPECT_EQ(second.resumed, 6);
  EXPECT_EQ(second.ok, 6);
  const auto keys = keys_of(second.jsonl);
  EXPECT_EQ(keys.size(), 12u);
  EXPECT_EQ(std::set<std::string>(keys.begin(), keys.end()).size(), 12u) << "no duplicates";
  std::vector<std::string> warnings;
  EXPECT_EQ(read_jsonl(second.jsonl, &warnings).size(), 12u);
  EXPECT_TRUE(warnings.empty()) << warnings.front();
  // A third resume has nothing left to do.
  const RunSummary third = run(c, dir.path(), true);
  EXPECT_EQ(third.ok + third.failed + third.skipped, 0);
  EXPECT_EQ(keys_of(third.jsonl).size(), 12u);
}

TEST(Runner, RefusesToAppendWithoutResumeOrToMixConfigs) {
  TempDir dir;
  const Config c = parse(kMany);
  run(c, dir.path(), false, "K=1,batch=1");
  EXPECT_THROW(run(c, dir.path()), std::runtime_error);
  std::string other = kMany;
  other.replace(other.find("\"rank\": 2"), 9, "\"rank\": 3");
  EXPECT_THROW(run(parse(other), dir.path(), true), std::runtime_error);
}

TEST(Runner, ShardsPartitionThePoints) {
  TempDir dir;
  const Config c = parse(kMany);
  const auto a = run(c, dir / "a", false, "", 0, 2);
  const auto b = run(c, dir / "b", false, "", 1, 2);
  auto ka = keys_of(a.jsonl), kb = keys_of(b.jsonl);
  EXPECT_EQ(ka.size() + kb.size(), 12u);
  for (const auto& k : ka) EXPECT_EQ(kb.count(k), 0u);
}

// A filtered sweep is split over the points the filter keeps, so every shard gets its share (split by the index
// of all points, "batch=2" kept only odd points here and all of them went to shard 1); a point's methods stay
// together in one shard; every pair of the config is counted once over the shards.
TEST(Runner, ShardsOfAFilteredRunAreBalancedAndKeepAPointsMethodsTogether) {
  TempDir dir;
  const Config c = parse(kMany);
  const auto a = run(c, dir / "a", false, "batch=2", 0, 2);
  const auto b = run(c, dir / "b", false, "batch=2", 1, 2);
  const auto ka = keys_of(a.jsonl), kb = keys_of(b.jsonl);
  EXPECT_EQ(ka.size(), 4u);  // kept points 0 and 2 (K = 1, 3), both methods
  EXPECT_EQ(kb.size(), 2u);  // kept point 1 (K = 2)
  std::map<std::string, std::set<int>> shard_of_point;
  for (int i = 0; i < 2; ++i)
    for (const auto& r : read_jsonl(i == 0 ? a.jsonl : b.jsonl)) {
      EXPECT_NE(r.at("point_id").get<std::string>().find("batch=2"), std::string::npos);
      shard_of_point[r.at("point_id").get<std::string>()].insert(i);
    }
  EXPECT_EQ(shard_of_point.size(), 3u);
  for (const auto& [point, shards] : shard_of_point) EXPECT_EQ(shards.size(), 1u) << point;
  EXPECT_EQ(a.ok + a.skipped + a.failed + a.filtered + b.ok + b.skipped + b.failed + b.filtered, 12);
}

}  // namespace
}  // namespace lrb::test
