// libFuzzer target: results JSONL as `lrbench merge` and `report` read it (harness/records.cpp) and the merge
// of those records against a fixed config (harness/merge.cpp). Records are outside input (files from other
// machines, edited by hand): any bytes must give records, warnings and a merge report, never a crash.
#include <cstddef>
#include <cstdint>
#include <sstream>
#include <string>

#include "harness/config.hpp"
#include "harness/merge.hpp"
#include "harness/records.hpp"

namespace {
const lrb::Config& config() {
  static const lrb::Config c = *lrb::parse_config(R"({
    "name": "fuzz_merge", "task": "adapter_projection", "backend": "cpu",
    "workload": {"model": "tiny", "projections": ["q"], "rank": 2},
    "axes": {"K": [1, 2], "batch": [1, 2]},
    "methods": ["base_only", "sequential_lora"]})", "fuzz").config;
  return c;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::istringstream in(std::string(reinterpret_cast<const char*>(data), size));
  std::vector<std::string> warnings;
  lrb::MergeSource s{"fuzz.jsonl", lrb::read_jsonl(in, "fuzz.jsonl", &warnings)};
  // Merged twice (duplicates and conflicts of every record), with a filter.
  const lrb::MergeResult r = lrb::merge_records(config(), {s, s}, "sequential_lora");
  (void)r.complete();
  return 0;
}
