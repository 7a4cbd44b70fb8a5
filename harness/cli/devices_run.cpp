#include "harness/cli/devices_run.hpp"

#include <ostream>
#include <regex>
#include <set>
#include <stdexcept>

#include <fmt/format.h>

#include "harness/cli/device_workers.hpp"
#include "harness/cli/merge_command.hpp"
#include "harness/merge.hpp"
#include "harness/records.hpp"
#include "harness/runner.hpp"

namespace lrb {
namespace {

constexpr int kExitError = 1, kExitFailedRecords = 3;

// The files the runner gives shard i of n (or the whole run, n = 1) under --out.
RunSummary paths_of(const Config& config, const std::filesystem::path& out, std::size_t i, std::size_t n) {
  RunOptions o;
  o.out_dir = out;
  o.shard_index = static_cast<int>(i);
  o.shard_count = static_cast<int>(n);
  return summary_paths(config, o);
}

std::vector<std::string> worker_argv(const DevicesRunArgs& a, std::size_t i, std::size_t n) {
  // The running binary itself, not whatever `lrbench` is on PATH.
  std::vector<std::string> argv = {std::filesystem::read_symlink("/proc/self/exe").string(), "run", a.config_path,
                                   "--shard", fmt::format("{}/{}", i, n), "--out", a.out_dir.string()};
  if (!a.backend_text.empty()) argv.insert(argv.end(), {"--backend", a.backend_text});
  if (!a.filter.empty()) argv.insert(argv.end(), {"--filter", a.filter});
  if (a.resume) argv.push_back("--resume");
  if (a.quiet) argv.push_back("--quiet");
  return argv;
}

}  // namespace

std::optional<std::vector<std::string>> parse_devices(const std::string& text, std::string* error) {
  // An ordinal, or a GPU / MIG UUID as CUDA_VISIBLE_DEVICES takes it.
  static const std::regex entry_re("[0-9]{1,4}|(GPU|MIG)-[0-9A-Za-z/-]{1,80}");
  std::vector<std::string> out;
  std::set<std::string> seen;
  std::size_t start = 0;
  for (;;) {
    const std::size_t comma = text.find(',', start);
    const std::string entry = text.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    if (!std::regex_match(entry, entry_re)) {
      *error = fmt::format("'{}' is not a device (an index such as 0, or a GPU-/MIG- UUID)", entry);
      return std::nullopt;
    }
    if (!seen.insert(entry).second) {
      *error = fmt::format("device '{}' is listed twice", entry);
      return std::nullopt;
    }
    out.push_back(entry);
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return out;
}

DevicesRunSummary run_on_devices(const Config& config, const DevicesRunArgs& a, std::ostream& log) {
  const std::size_t n = a.devices.size();
  const RunSummary whole = paths_of(config, a.out_dir, 0, 1);
  DevicesRunSummary s;
  s.jsonl = whole.jsonl, s.csv = whole.csv, s.md = whole.md;
  if (std::filesystem::exists(s.jsonl) && !a.resume)
    throw std::runtime_error(fmt::format("'{}' exists: pass --resume to continue that run, or choose another --out",
                                         s.jsonl.string()));
  std::filesystem::create_directories(a.out_dir);

  std::vector<WorkerSpec> specs;
  for (std::size_t i = 0; i < n; ++i)
    specs.push_back({a.devices[i], worker_argv(a, i, n),
                     std::filesystem::path(paths_of(config, a.out_dir, i, n).jsonl).replace_extension(".log")});
  if (!a.quiet)
    log << fmt::format("lrbench: '{}' on {} devices ({}): one worker each, shard I/{}; logs {}/{}.shard*of{}.log\n",
                       config.name, n, fmt::join(a.devices, ", "), n, a.out_dir.string(), config.name, n);
  const auto results = run_workers(specs, log, !a.quiet);

  bool worker_failed = false;
  for (std::size_t i = 0; i < results.size(); ++i) {
    const auto& r = results[i];
    if (r.exit_code == 0 || r.exit_code == kExitFailedRecords) continue;  // ran; failed records are in its file
    worker_failed = true;
    log << fmt::format("lrbench: the worker on device {} (shard {}/{}) {}; its last lines (all in {}):\n{}", r.device,
                       i, n, r.signal ? fmt::format("was killed by signal {}", r.signal)
                                      : fmt::format("exited with code {}", r.exit_code),
                       specs[i].log.string(), r.tail);
  }

  std::vector<MergeSource> sources;
  for (std::size_t i = 0; i < n; ++i) {
    const auto path = paths_of(config, a.out_dir, i, n).jsonl;
    if (!std::filesystem::exists(path)) continue;  // a worker with nothing to run, or one that failed first
    std::vector<std::string> warnings;
    sources.push_back({path.string(), read_jsonl(path, &warnings)});
    for (const auto& w : warnings) log << "warning: " << w << "\n";
  }
  const MergeResult merged = merge_records(config, sources, a.filter);
  if (!merged.errors.empty())
    throw std::runtime_error(fmt::format("the shards hold records of another config: {}", merged.errors.front()));
  if (!write_jsonl_atomically(s.jsonl, merged.merged))
    throw std::runtime_error(fmt::format("cannot write {}", s.jsonl.string()));
  report_merge(merged, sources.size(), s.jsonl.string());

  std::size_t failed = 0;
  for (const auto& r : merged.merged)
    if (record_string(r, "status") == "failed") ++failed;
  s.exit_code = (worker_failed || !merged.complete()) ? kExitError : (failed > 0 ? kExitFailedRecords : 0);
  return s;
}

}  // namespace lrb
