// Merging shards (harness/merge.hpp, `lrbench merge`): three shards of a CPU sweep merge into the unsharded
// run's (point, method) set with the same statuses; a missing shard, a duplicated shard, a conflicting record,
// a --filter and records of another config are each reported as what they are; the CLI's exit codes and
// its refusal to write over an input or an existing file.
#include <gtest/gtest.h>

#include <map>
#include <set>
#include <sstream>

#include "harness/config.hpp"
#include "harness/merge.hpp"
#include "harness/records.hpp"
#include "harness/runner.hpp"
#include "tests/support/cli.hpp"

namespace lrb::test {
namespace {

const char* kSweep = R"({
  "name": "merge_sweep", "task": "adapter_projection", "backend": "cpu",
  "workload": {"model": "tiny", "projections": ["q"], "rank": 2},
  "axes": {"K": [1, 2, 3], "batch": [1, 2]},
  "methods": ["base_only", "sequential_lora", "bgmv"],
  "measure": {"min_samples": 2, "warmup": 0, "timeout_s": 0.01}
})";

Config parse(const std::string& text) {
  auto load = parse_config(text, "test");
  if (!load.config) throw std::runtime_error(load.errors.at(0).text());
  return *load.config;
}

std::filesystem::path run_shard(const Config& c, const std::filesystem::path& out, int shard, int shards) {
  RunOptions o;
  o.out_dir = out;
  o.shard_index = shard;
  o.shard_count = shards;
  o.progress = false;
  std::ostringstream log;
  return run_config(c, o, log).jsonl;
}

MergeSource source(const std::filesystem::path& p) { return {p.string(), read_jsonl(p)}; }

std::map<std::string, std::string> status_by_key(const std::vector<Json>& records) {
  std::map<std::string, std::string> m;
  for (const auto& r : records) m[record_key(r)] = record_string(r, "status");
  return m;
}

class Merge : public ::testing::Test {
 protected:
  void SetUp() override {
    config_ = parse(kSweep);
    for (int i = 0; i < 3; ++i) shards_.push_back(run_shard(config_, dir_ / ("s" + std::to_string(i)), i, 3));
    whole_ = run_shard(config_, dir_ / "whole", 0, 1);
  }
  TempDir dir_;
  Config config_;
  std::vector<std::filesystem::path> shards_;
  std::filesystem::path whole_;
};

TEST_F(Merge, ThreeShardsGiveTheUnshardedRunsPairsAndStatuses) {
  const MergeResult r = merge_records(config_, {source(shards_[0]), source(shards_[1]), source(shards_[2])});
  EXPECT_TRUE(r.complete());
  EXPECT_EQ(r.expected, 18u);  // 6 points x 3 methods
  EXPECT_TRUE(r.duplicates.empty() && r.conflicts.empty() && r.missing.empty() && r.unexpected.empty());
  EXPECT_EQ(status_by_key(r.merged), status_by_key(read_jsonl(whole_)));
  EXPECT_EQ(r.merged.size(), 18u);
}

TEST_F(Merge, AMissingShardIsNamedPairByPair) {
  const MergeResult r = merge_records(config_, {source(shards_[0]), source(shards_[2])});
  EXPECT_FALSE(r.complete());
  const auto absent = read_jsonl(shards_[1]);
  ASSERT_FALSE(absent.empty());
  EXPECT_EQ(r.missing.size(), absent.size());
  std::set<std::string> missing(r.missing.begin(), r.missing.end());
  for (const auto& rec : absent)
    EXPECT_EQ(missing.count(record_string(rec, "method_label") + "/" + record_string(rec, "point_id")), 1u)
        << rec.dump();
}

TEST_F(Merge, ADuplicatedShardIsReportedAndKeptOnce) {
  const MergeResult r =
      merge_records(config_, {source(shards_[0]), source(shards_[1]), source(shards_[2]), source(shards_[0])});
  EXPECT_TRUE(r.complete());
  EXPECT_EQ(r.duplicates.size(), read_jsonl(shards_[0]).size());
  EXPECT_EQ(r.merged.size(), 18u);
}

TEST_F(Merge, ARecordWithAnotherStatusIsAConflictAndTheFirstIsKept) {
  MergeSource changed = source(shards_[1]);
  ASSERT_FALSE(changed.records.empty());
  changed.records[0]["status"] = "failed";
  changed.name = "changed.jsonl";
  const MergeResult r = merge_records(config_, {source(shards_[0]), source(shards_[1]), source(shards_[2]), changed});
  EXPECT_FALSE(r.complete());
  ASSERT_EQ(r.conflicts.size(), 1u);
  EXPECT_NE(r.conflicts[0].find("changed.jsonl"), std::string::npos) << r.conflicts[0];
  EXPECT_EQ(status_by_key(r.merged).at(record_key(changed.records[0])), "ok");
}

TEST_F(Merge, TheRunsFilterSetsWhatIsExpected) {
  const MergeResult r = merge_records(config_, {source(shards_[0]), source(shards_[1]), source(shards_[2])},
                                      "^bgmv/");
  EXPECT_TRUE(r.complete());
  EXPECT_EQ(r.expected, 6u);
  EXPECT_EQ(r.unexpected.size(), 12u);  // the other methods' records, kept and listed
}

TEST_F(Merge, RecordsOfAnotherConfigAreAnError) {
  const Config other = parse(std::string(kSweep).replace(std::string(kSweep).find("\"rank\": 2"), 9, "\"rank\": 3"));
  const MergeResult r = merge_records(other, {source(shards_[0])});
  EXPECT_FALSE(r.errors.empty());
  EXPECT_FALSE(r.complete());
}

TEST_F(Merge, TheCommandWritesTheMergeAndExitsOneWhenIncomplete) {
  const auto cfg = dir_ / "sweep.json";
  write_file(cfg, kSweep);
  // The config file's hash must be the one the shards ran: rerun them from the file.
  const Config from_file = *load_config(cfg).config;
  std::vector<std::filesystem::path> shards;
  for (int i = 0; i < 3; ++i) shards.push_back(run_shard(from_file, dir_ / ("f" + std::to_string(i)), i, 3));
  const auto out = dir_ / "merged.jsonl";
  const std::string all = shards[0].string() + " " + shards[1].string() + " " + shards[2].string();
  const auto ok = run_lrbench("merge " + all + " --config " + cfg.string() + " --out " + out.string());
  EXPECT_EQ(ok.exit_code, 0) << ok.output;
  EXPECT_NE(ok.output.find("(complete)"), std::string::npos) << ok.output;
  EXPECT_EQ(read_jsonl(out).size(), 18u);

  const auto again = run_lrbench("merge " + all + " --config " + cfg.string() + " --out " + out.string());
  EXPECT_EQ(again.exit_code, 2) << again.output;  // an existing --out without --force
  EXPECT_NE(again.output.find("--force"), std::string::npos) << again.output;

  const auto into_input =
      run_lrbench("merge " + all + " --config " + cfg.string() + " --out " + shards[0].string() + " --force");
  EXPECT_EQ(into_input.exit_code, 2) << into_input.output;

  const auto part = dir_ / "part.jsonl";
  const auto gap = run_lrbench("merge " + shards[0].string() + " " + shards[2].string() + " --config " + cfg.string() +
                               " --out " + part.string());
  EXPECT_EQ(gap.exit_code, 1) << gap.output;
  EXPECT_NE(gap.output.find("missing (point, method) pairs"), std::string::npos) << gap.output;
  EXPECT_EQ(read_jsonl(part).size(), read_jsonl(shards[0]).size() + read_jsonl(shards[2]).size());
}

}  // namespace
}  // namespace lrb::test
