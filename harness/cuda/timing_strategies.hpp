#pragma once
// The CUDA backend's timing strategies (MEASUREMENT.md section 3), one class per mode:
// - EventTiming cold: an L2 read-sweep of 2x L2 and a blocking kernel before each sample, CUDA events;
// - EventTiming hot: the blocking kernel only, warm buffers (reference only);
// - GraphTiming: one run captured in a CUDA graph per prepared copy, replays rotating among the copies so
//   each replay's data comes from HBM.
// Each records the SM and memory clocks at its start and end and discards throttled samples.
#include <functional>
#include <vector>

#include "harness/config.hpp"
#include "harness/cuda/cuda_context.hpp"
#include "harness/timing.hpp"

namespace lrb::cuda {

class EventTiming {
 public:
  EventTiming(CudaContext& ctx, bool cold) : ctx_(ctx), cold_(cold) {}
  TimingResult time(const std::function<void()>& run, const MeasureOptions& options);

 private:
  CudaContext& ctx_;
  bool cold_;
};

class GraphTiming {
 public:
  explicit GraphTiming(CudaContext& ctx) : ctx_(ctx) {}
  // How many prepared copies a footprint needs so that replays read HBM, and how many memory allows.
  struct Plan {
    int copies = 1, wanted = 1;
    bool large = false;  // footprint >= 2 x L2: samples alternate copies instead of replaying rounds
    double footprint = 1, l2 = 0;
  };
  Plan plan(double footprint_bytes) const;
  // `runs`: one closure per prepared copy (plan.copies of them), each enqueueing the work on the stream.
  TimingResult time(const Plan& plan, const std::vector<std::function<void()>>& runs, const MeasureOptions& options);

 private:
  CudaContext& ctx_;
};

}  // namespace lrb::cuda
