#pragma once
// Worker processes of `lrbench run --devices`: one child lrbench per device, each seeing only its GPU
// (CUDA_VISIBLE_DEVICES), its stdout and stderr read through a pipe, echoed line by line with the device as a
// prefix and kept in a log file beside its shard, so N workers' progress stays readable and nothing is lost.
#include <filesystem>
#include <iosfwd>
#include <string>
#include <vector>

namespace lrb {

struct WorkerSpec {
  std::string device;              // the CUDA_VISIBLE_DEVICES value the worker sees ("0", "GPU-<uuid>", ...)
  std::vector<std::string> argv;   // argv[0] is the program
  std::filesystem::path log;       // everything the worker prints, appended
};

struct WorkerResult {
  std::string device;
  int exit_code = -1;  // the worker's exit status; -1 where it was killed by a signal or could not start
  int signal = 0;      // the signal that ended it, 0 if none
  std::string tail;    // its last lines, for the report of a worker that failed
};

// Starts every worker at once and waits for all of them. `echo`: each line goes to `out` as "[dev D] line".
// Throws std::runtime_error where a worker cannot be started (the ones already started are waited for first).
std::vector<WorkerResult> run_workers(const std::vector<WorkerSpec>& specs, std::ostream& out, bool echo);

}  // namespace lrb
