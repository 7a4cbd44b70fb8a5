#pragma once
// Sampling loop shared by every backend: warm up, then sample until the relative spread is below
// max_noise after min_samples, or max_samples, or timeout_s (MEASUREMENT.md section 3).
#include <functional>
#include <string>
#include <vector>

#include "harness/config.hpp"
#include "harness/json.hpp"
#include "harness/stats.hpp"

namespace lrb {

struct TimingResult {
  std::string mode;   // hot | cold | graph
  std::string clock;  // cpu_steady_clock | cuda_event
  SampleStats stats;  // in seconds
  std::vector<double> samples;  // seconds
  bool converged = false;       // stdrel <= max_noise was reached
  std::string stop_reason;      // noise | max_samples | timeout
  std::string note;             // how this mode was realized (rotation copies, flush size, ...)
  Json extra = Json::object();  // backend-specific details (clocks, copies)
};

// Throttle detection (nvbench's): after each sample `throttled()` says whether the clock fell; such
// samples are discarded and the loop pauses `recovery_s` so the clock can come back. When more than half of
// the samples would be discarded (a clock that stays low under this load), they are kept and counted.
struct ThrottleGuard {
  std::function<bool()> throttled;
  double recovery_s = 0.05;
  std::string rule;  // for the record, e.g. "SM clock < 90% of its maximum (1980 MHz)"
};

// `sample()` runs the work once and returns its duration in seconds (the backend decides how).
TimingResult sample_until_stable(const std::function<double()>& sample, const std::function<void()>& warmup_once,
                                 const MeasureOptions& options, const ThrottleGuard* guard = nullptr);

// Host timing of `body` with std::chrono::steady_clock; `sync` is called before the clock stops.
TimingResult time_on_host(const std::function<void()>& body, const std::function<void()>& sync,
                          const MeasureOptions& options);

// {mode, clock, unit: "ms", median, q1, q3, min, max, mean, n, stdrel, converged, stop_reason[, samples]}
Json timing_to_json(const TimingResult& result, bool keep_samples);

}  // namespace lrb
