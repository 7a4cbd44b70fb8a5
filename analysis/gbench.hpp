#pragma once
// lrbench records in Google Benchmark's JSON schema (`lrbench report --gbench FILE`), so tools that read
// `--benchmark_out` files (compare.py, dashboards, CI bots) read lrbench's: a "context" object and one
// "benchmarks" entry per ok record, named "[<block>/]<method label>/<point id>", real_time the median in the
// record's unit, iterations the samples, counters: bytes_per_second (the floor's bytes over the median),
// items_per_second (runs of the method a second), floor_fraction and rel_error.
#include <vector>

#include "harness/json.hpp"

namespace lrb {

Json gbench_from_records(const std::vector<Json>& records);

}  // namespace lrb
