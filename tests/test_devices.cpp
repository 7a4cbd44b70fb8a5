// `lrbench run --devices` (harness/cli/devices_run.hpp): one worker process per device over disjoint shards,
// merged at the end. On this machine the config runs on the CPU, so the devices are only what each worker's
// CUDA_VISIBLE_DEVICES says: what is checked is the mechanism (the shards, the merge, each record naming its
// device and shard, a failing worker reported and the others' records kept), which a GPU host runs unchanged.
#include <gtest/gtest.h>

#include <map>
#include <set>

#include "harness/cli/devices_run.hpp"
#include "harness/records.hpp"
#include "tests/support/cli.hpp"

namespace lrb::test {
namespace {

const char* kSweep = R"({
  "name": "dev_sweep", "task": "adapter_projection", "backend": "cpu",
  "workload": {"model": "tiny", "projections": ["q"], "rank": 2},
  "axes": {"K": [1, 2, 3], "batch": [1, 2]},
  "methods": ["base_only", "sequential_lora"],
  "measure": {"min_samples": 2, "warmup": 0, "timeout_s": 0.01}
})";

std::map<std::string, std::string> status_by_key(const std::filesystem::path& jsonl) {
  std::map<std::string, std::string> m;
  for (const auto& r : read_jsonl(jsonl)) m[record_key(r)] = record_string(r, "status");
  return m;
}

TEST(Devices, ParsesIndicesAndUuidsAndRejectsTheRest) {
  std::string why;
  EXPECT_EQ(parse_devices("0,1,3", &why), (std::vector<std::string>{"0", "1", "3"}));
  EXPECT_EQ(parse_devices("GPU-8f6c1a2b-0000-1111-2222-333344445555", &why)->size(), 1u);
  EXPECT_FALSE(parse_devices("0,0", &why));
  EXPECT_NE(why.find("twice"), std::string::npos) << why;
  for (const char* bad : {"", "0,", ",1", "a", "0;1", "-1", "0, 1"}) {
    EXPECT_FALSE(parse_devices(bad, &why)) << bad;
    EXPECT_NE(why.find("not a device"), std::string::npos) << why;
  }
}

class DevicesRun : public ::testing::Test {
 protected:
  void SetUp() override { write_file(dir_ / "c.json", kSweep); }
  std::string config() const { return (dir_ / "c.json").string(); }
  TempDir dir_;
};

TEST_F(DevicesRun, ThreeWorkersMergeToTheUnshardedRunAndEachRecordNamesItsDevice) {
  const auto whole = run_lrbench("run " + config() + " -q --out " + (dir_ / "whole").string());
  ASSERT_EQ(whole.exit_code, 0) << whole.output;
  const auto r = run_lrbench("run " + config() + " --devices 2,0,1 --out " + (dir_ / "dev").string());
  ASSERT_EQ(r.exit_code, 0) << r.output;
  // Every worker's progress is echoed with its device.
  for (const char* dev : {"[dev 2] ", "[dev 0] ", "[dev 1] "}) EXPECT_NE(r.output.find(dev), std::string::npos) << dev;
  EXPECT_NE(r.output.find("(complete)"), std::string::npos) << r.output;

  const auto merged = dir_ / "dev" / "dev_sweep.jsonl";
  EXPECT_EQ(status_by_key(merged), status_by_key(dir_ / "whole" / "dev_sweep.jsonl"));
  EXPECT_TRUE(std::filesystem::exists(dir_ / "dev" / "dev_sweep.csv"));
  EXPECT_TRUE(std::filesystem::exists(dir_ / "dev" / "dev_sweep.md"));
  // Worker I runs shard I/3 on the I-th listed device, and says so in every record.
  const std::map<std::string, std::string> device_of_shard = {{"0/3", "2"}, {"1/3", "0"}, {"2/3", "1"}};
  std::set<std::string> shards_seen;
  for (const auto& rec : read_jsonl(merged)) {
    const std::string shard = record_string_at(rec, {"env", "shard"}, "?");
    ASSERT_TRUE(device_of_shard.count(shard)) << shard;
    EXPECT_EQ(record_string_at(rec, {"env", "cuda_visible_devices"}, "?"), device_of_shard.at(shard));
    EXPECT_FALSE(record_string_at(rec, {"env", "host"}, "").empty());
    shards_seen.insert(shard);
  }
  EXPECT_EQ(shards_seen.size(), 3u);
  for (int i = 0; i < 3; ++i)
    EXPECT_TRUE(std::filesystem::exists(dir_ / "dev" / ("dev_sweep.shard" + std::to_string(i) + "of3.log")));

  // Again without --resume: refused, nothing rewritten; with --resume: nothing left to run, the same merge.
  const auto again = run_lrbench("run " + config() + " --devices 0,1,2 -q --out " + (dir_ / "dev").string());
  EXPECT_EQ(again.exit_code, 1) << again.output;
  EXPECT_NE(again.output.find("--resume"), std::string::npos) << again.output;
  const auto resumed = run_lrbench("run " + config() + " --devices 2,0,1 -q --resume --out " + (dir_ / "dev").string());
  EXPECT_EQ(resumed.exit_code, 0) << resumed.output;
  EXPECT_EQ(status_by_key(merged), status_by_key(dir_ / "whole" / "dev_sweep.jsonl"));
}

TEST_F(DevicesRun, AFailingWorkerIsReportedAndTheOthersRecordsAreKept) {
  // Worker 1 cannot open its shard file (a folder stands there): it stops before measuring anything.
  std::filesystem::create_directories(dir_ / "dev" / "dev_sweep.shard1of2.jsonl");
  const auto r = run_lrbench("run " + config() + " --devices 0,1 -q --out " + (dir_ / "dev").string());
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("the worker on device 1 (shard 1/2) exited with code 1"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("INCOMPLETE"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("missing (point, method) pairs (6)"), std::string::npos) << r.output;
  const auto kept = status_by_key(dir_ / "dev" / "dev_sweep.jsonl");
  EXPECT_EQ(kept.size(), 6u);  // shard 0's half of the 12 pairs
}

TEST_F(DevicesRun, UsageErrors) {
  for (const char* args : {"--devices 0,0", "--devices x", "--devices 0,1 --shard 0/2"}) {
    const auto r = run_lrbench("run " + config() + " " + args + " --out " + (dir_ / "u").string());
    EXPECT_EQ(r.exit_code, 2) << args << "\n" << r.output;
    EXPECT_FALSE(std::filesystem::exists(dir_ / "u")) << args;
  }
}

TEST_F(DevicesRun, OneDeviceRunsInProcessSeeingOnlyThatDevice) {
  const auto r = run_lrbench("run " + config() + " --devices 5 -q --out " + (dir_ / "one").string());
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const auto records = read_jsonl(dir_ / "one" / "dev_sweep.jsonl");
  ASSERT_EQ(records.size(), 12u);
  EXPECT_EQ(record_string_at(records[0], {"env", "cuda_visible_devices"}, "?"), "5");
  EXPECT_TRUE(records[0]["env"]["shard"].is_null());
}

}  // namespace
}  // namespace lrb::test
