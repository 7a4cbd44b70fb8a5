#pragma once
// `lrbench merge SHARD.jsonl... --out MERGED.jsonl --config CONFIG [--filter REGEX] [--force]`.
#include <string>
#include <vector>

#include "harness/merge.hpp"

namespace lrb {

struct MergeArgs {
  std::vector<std::string> inputs;
  std::string out, config, filter;
  bool force = false;
};

// Exit codes: 0 complete (every expected record once, no conflicts); 1 incomplete or conflicting (the merged
// file is written with what there is, and every gap is listed); 2 bad usage, an unreadable file or records of
// another config (nothing is written).
int merge_command(const MergeArgs& args);

// To stderr: the duplicates, conflicts, missing and unexpected records (the first 40 of each), then one summary
// line. Shared by `merge` and `run --devices`, which merges its workers' shards the same way.
void report_merge(const MergeResult& r, std::size_t files, const std::string& out);

}  // namespace lrb
