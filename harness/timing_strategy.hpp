#pragma once
// The CPU backend's timing strategy: std::chrono::steady_clock around the body, the sampling loop of
// harness/timing.hpp. The CUDA strategies (cold, hot, graph) are in harness/cuda/timing_strategies.hpp.
#include <functional>

#include "harness/config.hpp"
#include "harness/exec_context.hpp"
#include "harness/timing.hpp"

namespace lrb {

class HostClockTiming {
 public:
  TimingResult time(const std::function<void()>& body, ExecContext& ctx, const MeasureOptions& options) const {
    return time_on_host(body, [&] { ctx.synchronize(); }, options);
  }
};

}  // namespace lrb
