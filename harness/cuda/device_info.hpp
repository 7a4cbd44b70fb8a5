#pragma once
// Facts about the current GPU and the process-wide resources the measurement uses (the L2 flush buffer,
// the blocking kernel's host-mapped flag), created once.
#include <cstddef>
#include <string>

#include "harness/cuda/device_buffer.hpp"
#include "harness/json.hpp"

namespace lrb::cuda {

struct DeviceInfo {
  int index = 0;
  std::string name;
  int sm_count = 0;
  std::size_t l2_bytes = 0;
  std::size_t mem_bytes = 0;
  int driver_version = 0, runtime_version = 0;
  int cc_major = 0, cc_minor = 0;
  std::string pci_bus_id;  // "0000:18:00.0": names the physical GPU whatever CUDA_VISIBLE_DEVICES renumbers
  std::string uuid;        // "GPU-<8-4-4-4-12 hex>", as nvidia-smi prints it
};

const DeviceInfo& device_info();

// SM and memory clocks in MHz through NVML (loaded at run time: NVML is optional at build time);
// null values and a note where NVML is not available.
Json read_clocks();
// Current and maximum SM clock in MHz (0 where NVML is not available).
unsigned sm_clock_mhz();
unsigned max_sm_clock_mhz();

class MeasurementResources {
 public:
  static MeasurementResources& instance();
  // Read-sweep of 2x the L2 size on `stream` (MEASUREMENT.md section 3).
  void flush_l2(cudaStream_t stream);
  std::size_t flush_bytes() const { return flush_.bytes(); }
  // Blocking kernel: enqueue with block(), then release() once the timed work is enqueued.
  void block(cudaStream_t stream, double timeout_s = 2.0);
  void release();
  bool last_block_timed_out();

 private:
  MeasurementResources();
  DeviceBuffer<unsigned char> flush_;
  DeviceBuffer<int> sink_;
  volatile int* host_flag_ = nullptr;
  int* device_flag_ = nullptr;
  DeviceBuffer<int> timed_out_;
};

}  // namespace lrb::cuda
