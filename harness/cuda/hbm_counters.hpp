#pragma once
// HBM bytes of one execution through the CUPTI Range Profiler, in process (MEASUREMENT.md section 4):
// L2 read-sweep, then the measured range, then a drain range (another read-sweep) that charges the dirty
// lines the measured work left in L2 to where they belong: write_drained_bytes.
#include <functional>
#include <string>

#include "harness/json.hpp"

namespace lrb::cuda {

class HbmProfiler {
 public:
  static HbmProfiler& instance();
  // {available, read_bytes, write_bytes, write_drained_bytes, drain_read_bytes, gpu_time_ns, passes, note};
  // available=false with the reason where the profiler cannot run (Nsight Compute attached, ...). The
  // work runs once per profiler pass either way (so NVTX ranges inside it are seen by external tools).
  Json measure(const std::function<void()>& flush, const std::function<void()>& work,
               const std::function<void()>& drain, const std::function<void()>& sync);
  bool available();
  const std::string& reason() const { return reason_; }

 private:
  HbmProfiler() = default;
  bool initialize();
  bool tried_ = false;
  bool ok_ = false;
  std::string reason_;
  std::string chip_;
};

}  // namespace lrb::cuda
