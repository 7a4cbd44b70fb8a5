#include "harness/cuda/device_info.hpp"

#include <dlfcn.h>

#include <stdexcept>

#include <fmt/format.h>

#include "harness/cuda/timing_kernels.cuh"

namespace lrb::cuda {

const DeviceInfo& device_info() {
  static const DeviceInfo info = [] {
    DeviceInfo d;
    LRB_CUDA_CHECK(cudaGetDevice(&d.index));
    cudaDeviceProp p{};
    LRB_CUDA_CHECK(cudaGetDeviceProperties(&p, d.index));
    d.name = p.name;
    d.sm_count = p.multiProcessorCount;
    d.l2_bytes = static_cast<std::size_t>(p.l2CacheSize);
    d.mem_bytes = p.totalGlobalMem;
    d.cc_major = p.major;
    d.cc_minor = p.minor;
    char bus[32] = {};
    LRB_CUDA_CHECK(cudaDeviceGetPCIBusId(bus, sizeof bus, d.index));
    d.pci_bus_id = bus;
    const auto* u = reinterpret_cast<const unsigned char*>(p.uuid.bytes);
    d.uuid = "GPU-";
    for (int i = 0; i < 16; ++i) d.uuid += fmt::format("{}{:02x}", (i == 4 || i == 6 || i == 8 || i == 10) ? "-" : "", u[i]);
    LRB_CUDA_CHECK(cudaDriverGetVersion(&d.driver_version));
    LRB_CUDA_CHECK(cudaRuntimeGetVersion(&d.runtime_version));
    return d;
  }();
  return info;
}

namespace {

// The few NVML entry points used, resolved from libnvidia-ml.so.1 (shipped with the driver).
struct Nvml {
  using Init = int (*)();
  using HandleByBusId = int (*)(const char*, void**);
  using Clock = int (*)(void*, int, unsigned*);
  Init init = nullptr;
  HandleByBusId handle = nullptr;
  Clock clock = nullptr;
  Clock max_clock = nullptr;
  void* device = nullptr;
  std::string error;

  Nvml() {
    void* lib = dlopen("libnvidia-ml.so.1", RTLD_NOW | RTLD_LOCAL);
    if (!lib) {
      error = "libnvidia-ml.so.1 not found";
      return;
    }
    init = reinterpret_cast<Init>(dlsym(lib, "nvmlInit_v2"));
    // By PCI bus id, not by index: NVML ignores CUDA_VISIBLE_DEVICES, so CUDA's device 0 of a worker given
    // GPU 3 (lrbench run --devices, a Slurm task) is NVML's index 3.
    handle = reinterpret_cast<HandleByBusId>(dlsym(lib, "nvmlDeviceGetHandleByPciBusId_v2"));
    clock = reinterpret_cast<Clock>(dlsym(lib, "nvmlDeviceGetClockInfo"));
    max_clock = reinterpret_cast<Clock>(dlsym(lib, "nvmlDeviceGetMaxClockInfo"));
    if (!init || !handle || !clock || init() != 0 ||
        handle(device_info().pci_bus_id.c_str(), &device) != 0) {
      error = "NVML could not be initialized";
      device = nullptr;
    }
  }
};

}  // namespace

Nvml& nvml_instance() {
  static Nvml nvml;
  return nvml;
}

unsigned sm_clock_mhz() {
  Nvml& nvml = nvml_instance();
  unsigned mhz = 0;
  if (!nvml.device || nvml.clock(nvml.device, 1 /* NVML_CLOCK_SM */, &mhz) != 0) return 0;
  return mhz;
}

unsigned max_sm_clock_mhz() {
  Nvml& nvml = nvml_instance();
  unsigned mhz = 0;
  if (!nvml.device || !nvml.max_clock || nvml.max_clock(nvml.device, 1, &mhz) != 0) return 0;
  return mhz;
}

Json read_clocks() {
  Nvml& nvml = nvml_instance();
  if (!nvml.device) return {{"sm_mhz", nullptr}, {"mem_mhz", nullptr}, {"note", nvml.error}};
  constexpr int kSm = 1, kMem = 2;  // NVML_CLOCK_SM, NVML_CLOCK_MEM
  unsigned sm = 0, mem = 0;
  const bool ok = nvml.clock(nvml.device, kSm, &sm) == 0 && nvml.clock(nvml.device, kMem, &mem) == 0;
  if (!ok) return {{"sm_mhz", nullptr}, {"mem_mhz", nullptr}, {"note", "nvmlDeviceGetClockInfo failed"}};
  return {{"sm_mhz", sm}, {"mem_mhz", mem}};
}

MeasurementResources& MeasurementResources::instance() {
  static MeasurementResources r;
  return r;
}

MeasurementResources::MeasurementResources() {
  flush_.allocate(2 * device_info().l2_bytes);
  LRB_CUDA_CHECK(cudaMemset(flush_.data(), 1, flush_.bytes()));
  sink_.allocate(1);
  timed_out_.allocate(1);
  int* host = nullptr;
  LRB_CUDA_CHECK(cudaHostAlloc(&host, sizeof(int), cudaHostAllocMapped));
  *host = 0;
  host_flag_ = host;
  LRB_CUDA_CHECK(cudaHostGetDevicePointer(&device_flag_, host, 0));
  LRB_CUDA_CHECK(cudaDeviceSynchronize());
}

void MeasurementResources::flush_l2(cudaStream_t stream) {
  kernels::launch_read_sweep(flush_.data(), flush_.bytes(), sink_.data(), stream);
  LRB_CUDA_CHECK_LAUNCH();
}

void MeasurementResources::block(cudaStream_t stream, double timeout_s) {
  *host_flag_ = 0;
  LRB_CUDA_CHECK(cudaMemsetAsync(timed_out_.data(), 0, sizeof(int), stream));
  kernels::launch_blocking_kernel(device_flag_, static_cast<unsigned long long>(timeout_s * 1e9), timed_out_.data(),
                                  stream);
  LRB_CUDA_CHECK_LAUNCH();
}

void MeasurementResources::release() {
  __atomic_store_n(const_cast<int*>(host_flag_), 1, __ATOMIC_SEQ_CST);
}

bool MeasurementResources::last_block_timed_out() {
  int v = 0;
  LRB_CUDA_CHECK(cudaMemcpy(&v, timed_out_.data(), sizeof(int), cudaMemcpyDeviceToHost));
  return v != 0;
}

}  // namespace lrb::cuda
