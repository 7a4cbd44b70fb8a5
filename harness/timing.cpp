#include "harness/timing.hpp"

#include <chrono>
#include <thread>

namespace lrb {

TimingResult sample_until_stable(const std::function<double()>& sample, const std::function<void()>& warmup_once,
                                 const MeasureOptions& options, const ThrottleGuard* guard) {
  using clock = std::chrono::steady_clock;
  for (int i = 0; i < options.warmup; ++i) warmup_once();
  TimingResult r;
  const auto start = clock::now();
  std::size_t discarded = 0, taken = 0;
  while (true) {
    const double s = sample();
    ++taken;
    if (guard && guard->throttled() && 2 * (discarded + 1) <= taken) {
      ++discarded;
      std::this_thread::sleep_for(std::chrono::duration<double>(guard->recovery_s));
      if (std::chrono::duration<double>(clock::now() - start).count() >= options.timeout_s && !r.samples.empty()) {
        r.stop_reason = "timeout";
        break;
      }
      continue;
    }
    r.samples.push_back(s);
    const std::size_t n = r.samples.size();
    const double elapsed = std::chrono::duration<double>(clock::now() - start).count();
    if (n >= static_cast<std::size_t>(options.min_samples)) {
      r.stats = summarize(r.samples);
      if (r.stats.stdrel <= options.max_noise) {
        r.converged = true;
        r.stop_reason = "noise";
        break;
      }
    }
    if (n >= static_cast<std::size_t>(options.max_samples)) {
      r.stop_reason = "max_samples";
      break;
    }
    if (elapsed >= options.timeout_s) {
      r.stop_reason = "timeout";
      break;
    }
  }
  r.stats = summarize(r.samples);
  if (guard) r.extra["throttle"] = {{"discarded_samples", discarded}, {"rule", guard->rule}};
  return r;
}

TimingResult time_on_host(const std::function<void()>& body, const std::function<void()>& sync,
                          const MeasureOptions& options) {
  auto once = [&] {
    body();
    sync();
  };
  auto sample = [&] {
    const auto t0 = std::chrono::steady_clock::now();
    body();
    sync();
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  };
  TimingResult r = sample_until_stable(sample, once, options);
  r.mode = "hot";
  r.clock = "cpu_steady_clock";
  r.note = "CPU backend: host monotonic clock over repeated runs on the same buffers (hot)";
  return r;
}

Json timing_to_json(const TimingResult& r, bool keep_samples) {
  const double ms = 1e3;
  Json j = {{"mode", r.mode},
            {"clock", r.clock},
            {"unit", "ms"},
            {"median", r.stats.median * ms},
            {"q1", r.stats.q1 * ms},
            {"q3", r.stats.q3 * ms},
            {"min", r.stats.min * ms},
            {"max", r.stats.max * ms},
            {"mean", r.stats.mean * ms},
            {"n", r.stats.n},
            {"stdrel", r.stats.stdrel},
            {"converged", r.converged},
            {"stop_reason", r.stop_reason}};
  for (auto it = r.extra.begin(); it != r.extra.end(); ++it) j[it.key()] = it.value();
  if (keep_samples) {
    Json s = Json::array();
    for (double v : r.samples) s.push_back(v * ms);
    j["samples"] = s;
  }
  return j;
}

}  // namespace lrb
