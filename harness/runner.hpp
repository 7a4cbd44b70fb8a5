#pragma once
// The runner (DESIGN.md section 5): points x methods, each (point, method) in separate passes
// (harness/passes.hpp), one record per pair appended to JSONL as it completes.
#include <filesystem>
#include <iosfwd>
#include <optional>
#include <string>

#include "harness/backend.hpp"
#include "harness/config.hpp"

namespace lrb {

struct RunOptions {
  std::optional<BackendChoice> backend;  // overrides the config's
  std::filesystem::path out_dir;         // records go to <out_dir>/<config name>.jsonl
  std::string filter;                    // ECMAScript regex on "<method label>/<point id>"
  bool resume = false;                   // skip (point, method) pairs already recorded
  int shard_index = 0;                   // run points with index % shard_count == shard_index
  int shard_count = 1;
  bool progress = true;
};

struct RunSummary {
  int ok = 0, skipped = 0, failed = 0, resumed = 0, filtered = 0;
  std::filesystem::path jsonl;
  std::filesystem::path csv, md;  // where the CLI writes the reports (analysis/report.hpp), not the runner
};

// Where a run (or shard I of N) writes: <out_dir>/<config name>[.shardIofN].{jsonl,csv,md}.
RunSummary summary_paths(const Config& config, const RunOptions& options);

// Throws std::runtime_error for conditions that stop a run before it starts (no such backend, an
// existing result file without --resume, results of another config). Method failures never throw.
RunSummary run_config(const Config& config, const RunOptions& options, std::ostream& log);

}  // namespace lrb
