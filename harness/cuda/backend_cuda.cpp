// Strong definitions of the hooks the CPU build leaves weak: device presence, the device part of the
// environment, the CUDA context and the device ceilings.
#include <chrono>
#include <stdexcept>

#include <fmt/format.h>

#include "harness/backend.hpp"
#include "harness/ceilings.hpp"
#include "harness/cuda/cuda_context.hpp"
#include "harness/cuda/device_info.hpp"
#include "harness/cuda/gemm.hpp"
#include "harness/env.hpp"
#include "harness/memory_limits.hpp"

namespace lrb {

bool cuda_device_present() {
  int n = 0;
  return cudaGetDeviceCount(&n) == cudaSuccess && n > 0;
}

std::optional<std::uint64_t> device_free_bytes() {
  std::size_t free_bytes = 0, total = 0;
  if (!cuda_device_present() || cudaMemGetInfo(&free_bytes, &total) != cudaSuccess) return std::nullopt;
  return free_bytes;
}

Json capture_device_environment() {
  const auto& d = cuda::device_info();
  auto version = [](int v) { return fmt::format("{}.{}", v / 1000, (v % 1000) / 10); };
  return {{"gpu", d.name},
          {"sm_count", d.sm_count},
          {"l2_bytes", d.l2_bytes},
          {"mem_bytes", d.mem_bytes},
          {"compute_capability", fmt::format("{}.{}", d.cc_major, d.cc_minor)},
          {"pci_bus_id", d.pci_bus_id},
          {"uuid", d.uuid},
          {"driver", version(d.driver_version)},
          {"cuda_runtime", version(d.runtime_version)},
          {"clocks", cuda::read_clocks()}};
}

std::unique_ptr<ExecContext> make_device_context() { return std::make_unique<cuda::CudaContext>(); }

Ceilings measure_device_ceilings() {
  using namespace cuda;
  Ceilings c;
  CudaContext ctx;
  Event start = Event::create(), stop = Event::create();
  // Copy: 1 GiB device to device, bytes read + written, best of 10 after a warm-up.
  const std::size_t bytes = 1u << 30;
  DeviceBuffer<unsigned char> src(bytes), dst(bytes);
  LRB_CUDA_CHECK(cudaMemsetAsync(src.data(), 1, bytes, ctx.stream()));
  double best = 1e30;
  for (int i = 0; i < 11; ++i) {
    start.record(ctx.stream());
    LRB_CUDA_CHECK(cudaMemcpyAsync(dst.data(), src.data(), bytes, cudaMemcpyDeviceToDevice, ctx.stream()));
    stop.record(ctx.stream());
    LRB_CUDA_CHECK(cudaEventSynchronize(stop.get()));
    if (i > 0) best = std::min(best, static_cast<double>(stop.since(start)) * 1e-3);
  }
  c.copy_bytes_per_s = 2.0 * static_cast<double>(bytes) / best;
  // GEMM: fp16 in/out, fp32 accumulation, 8192^3, random non-zero data, best of 10.
  const int n = 8192;
  DeviceBuffer<__half> a(static_cast<std::size_t>(n) * n), b(static_cast<std::size_t>(n) * n),
      out(static_cast<std::size_t>(n) * n);
  fill_random_half(a.data(), a.size(), 1, ctx.stream());
  fill_random_half(b.data(), b.size(), 2, ctx.stream());
  best = 1e30;
  for (int i = 0; i < 11; ++i) {
    start.record(ctx.stream());
    gemm_tn(ctx, n, n, n, 1.0f, a.data(), n, b.data(), n, 0.0f, out.data(), n);
    stop.record(ctx.stream());
    LRB_CUDA_CHECK(cudaEventSynchronize(stop.get()));
    if (i > 0) best = std::min(best, static_cast<double>(stop.since(start)) * 1e-3);
  }
  c.gemm_flops_per_s = 2.0 * n * static_cast<double>(n) * n / best;
  c.available = true;
  c.how = "cudaMemcpyAsync D2D of 1 GiB (bytes read + written), best of 10; cuBLAS fp16 GEMM 8192^3 with fp32 "
          "accumulation on random data, best of 10; CUDA events";
  return c;
}

}  // namespace lrb
