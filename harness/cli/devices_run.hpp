#pragma once
// `lrbench run CONFIG --devices 0,1,...`: one worker process per GPU of this host, each running shard I of N
// (`--shard I/N`) with only its GPU visible, then one merged record file, as `lrbench merge` makes it.
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "harness/config.hpp"

namespace lrb {

// "0,1,3" or CUDA_VISIBLE_DEVICES-style UUIDs ("GPU-8f6c...,MIG-..."): the entries, or nullopt with the reason
// in `error` (empty entries, duplicates, anything else).
std::optional<std::vector<std::string>> parse_devices(const std::string& text, std::string* error);

struct DevicesRunArgs {
  std::string config_path;             // passed to the workers as given
  std::filesystem::path out_dir;       // shards, their logs and the merged file
  std::string backend_text, filter;    // passed on when set
  bool resume = false, quiet = false;  // passed on; --resume also lets the merged file be rewritten
  std::vector<std::string> devices;    // two or more
};

struct DevicesRunSummary {
  int exit_code = 0;  // 0 all ok or skipped; 1 a worker failed or the merge is incomplete; 3 failed records
  std::filesystem::path jsonl, csv, md;
};

// Throws std::runtime_error where the run cannot start (an existing merged file without --resume, a worker that
// cannot be started). A worker that fails is reported with its last lines; the others' records are merged.
DevicesRunSummary run_on_devices(const Config& config, const DevicesRunArgs& args, std::ostream& log);

}  // namespace lrb
