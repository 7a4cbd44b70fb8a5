// `lrbench report --gbench`: the records in Google Benchmark's JSON schema, checked field by field against a
// file Google Benchmark itself wrote (bench/'s lrbench_bench with --benchmark_out): every context field and
// every field all of its benchmark entries carry is present in lrbench's with the same JSON type, and the
// values are the records' (name, median, samples, floor counters).
#include <gtest/gtest.h>

#include <set>

#include "harness/records.hpp"
#include "harness/strict_json.hpp"
#include "tests/support/cli.hpp"

#ifndef LRBENCH_BENCH_BINARY
#error "LRBENCH_BENCH_BINARY: the lrbench_bench executable (tests/CMakeLists.txt)"
#endif

namespace lrb::test {
namespace {

const char* kConfig = R"({
  "name": "gbench_export", "task": "adapter_projection", "backend": "cpu",
  "workload": {"model": "tiny", "projections": ["q"], "rank": 2, "K": 2},
  "axes": {"batch": [1, 4]},
  "methods": ["sequential_lora", "bgmv"],
  "measure": {"min_samples": 3, "warmup": 0, "timeout_s": 0.02}
})";

TEST(GbenchExport, MatchesGoogleBenchmarksOwnSchemaFieldByField) {
  TempDir dir;
  const auto theirs_path = dir / "gbench.json";
  const auto bench = run_shell(std::string(LRBENCH_BENCH_BINARY) +
                               " --benchmark_filter='BM_PackBits|BM_Kmeans1d' --benchmark_min_time=0.001" +
                               " --benchmark_out=" + theirs_path.string() + " --benchmark_out_format=json");
  ASSERT_EQ(bench.exit_code, 0) << bench.output;
  const Json theirs = parse_json_strict(read_file(theirs_path));

  write_file(dir / "c.json", kConfig);
  const auto run = run_lrbench("run " + (dir / "c.json").string() + " --out " + (dir / "out").string() + " -q");
  ASSERT_EQ(run.exit_code, 0) << run.output;
  const auto jsonl = dir / "out" / "gbench_export.jsonl";
  const auto ours_path = dir / "ours.json";
  const auto report = run_lrbench("report " + jsonl.string() + " --gbench " + ours_path.string());
  ASSERT_EQ(report.exit_code, 0) << report.output;
  const Json ours = parse_json_strict(read_file(ours_path));

  ASSERT_TRUE(theirs.contains("context") && theirs.contains("benchmarks"));
  for (const auto& [key, value] : theirs["context"].items()) {
    ASSERT_TRUE(ours["context"].contains(key)) << "context." << key;
    EXPECT_STREQ(ours["context"][key].type_name(), value.type_name()) << "context." << key;
  }
  // The fields every one of Google Benchmark's entries has (counters like bytes_per_second vary by benchmark).
  std::set<std::string> common;
  bool first = true;
  for (const auto& b : theirs["benchmarks"]) {
    std::set<std::string> keys;
    for (const auto& [k, v] : b.items()) keys.insert(k);
    if (first) common = keys, first = false;
    else
      for (auto it = common.begin(); it != common.end();) it = keys.count(*it) ? std::next(it) : common.erase(it);
  }
  for (const char* k : {"name", "run_name", "run_type", "iterations", "real_time", "cpu_time", "time_unit"})
    EXPECT_TRUE(common.count(k)) << k << " missing from Google Benchmark's own output";
  const auto records = read_jsonl(jsonl);
  ASSERT_EQ(ours["benchmarks"].size(), records.size());
  for (std::size_t i = 0; i < records.size(); ++i) {
    const Json& b = ours["benchmarks"][i];
    for (const auto& k : common) {
      ASSERT_TRUE(b.contains(k)) << "benchmarks[" << i << "]." << k;
      EXPECT_STREQ(b[k].type_name(), theirs["benchmarks"][0][k].type_name()) << k;
    }
    const Json& r = records[i];
    EXPECT_EQ(b["name"], r["method_label"].get<std::string>() + "/" + r["point_id"].get<std::string>());
    EXPECT_DOUBLE_EQ(b["real_time"].get<double>(), r["time"]["median"].get<double>());
    EXPECT_EQ(b["iterations"].get<std::int64_t>(), r["time"]["n"].get<std::int64_t>());
    EXPECT_EQ(b["time_unit"], "ms");
    EXPECT_DOUBLE_EQ(b["floor_fraction"].get<double>(), r["floor"]["fraction"].get<double>());
  }
}

}  // namespace
}  // namespace lrb::test
