#include "kernels/lowrank_ffn/swiglu.cuh"

#include <algorithm>
#include <cstdint>

#include "kernels/lowrank_ffn/silu_gate.cuh"

namespace lrb::kernels {
namespace {

constexpr int kThreads = 256;

// A block-stride loop over rows x cols (bandwidth-bound: 3 x 2 bytes an element; half2 where every row of
// all three starts 4-byte aligned, else halfs).
template <bool kPairs>
__global__ void swiglu(const __half* g, int ld_g, const __half* u, int ld_u, __half* h, int ld_h, int rows, int cols) {
  const int per_row = kPairs ? cols / 2 : cols;
  const long long total = static_cast<long long>(rows) * per_row;
  for (long long e = blockIdx.x * static_cast<long long>(kThreads) + threadIdx.x; e < total;
       e += static_cast<long long>(gridDim.x) * kThreads) {
    const int r = static_cast<int>(e / per_row), c = static_cast<int>(e % per_row);
    if constexpr (kPairs) {
      const float2 a = __half22float2(reinterpret_cast<const __half2*>(g + static_cast<long long>(r) * ld_g)[c]);
      const float2 b = __half22float2(reinterpret_cast<const __half2*>(u + static_cast<long long>(r) * ld_u)[c]);
      reinterpret_cast<__half2*>(h + static_cast<long long>(r) * ld_h)[c] =
          __floats2half2_rn(silu_gate(a.x, b.x), silu_gate(a.y, b.y));
    } else {
      const float a = __half2float(g[static_cast<long long>(r) * ld_g + c]);
      const float b = __half2float(u[static_cast<long long>(r) * ld_u + c]);
      h[static_cast<long long>(r) * ld_h + c] = __float2half_rn(silu_gate(a, b));
    }
  }
}

}  // namespace

void launch_swiglu(const __half* g, int ld_g, const __half* u, int ld_u, __half* h, int ld_h, int rows, int cols,
                   cudaStream_t stream) {
  if (rows == 0 || cols == 0) return;
  const auto aligned = [](const __half* p, int ld) { return reinterpret_cast<std::uintptr_t>(p) % 4 == 0 && ld % 2 == 0; };
  const bool pairs = cols % 2 == 0 && aligned(g, ld_g) && aligned(u, ld_u) && aligned(h, ld_h);
  const long long work = static_cast<long long>(rows) * (pairs ? cols / 2 : cols);
  const unsigned blocks = static_cast<unsigned>(std::min<long long>((work + kThreads - 1) / kThreads, 132LL * 16));
  if (pairs) swiglu<true><<<blocks, kThreads, 0, stream>>>(g, ld_g, u, ld_u, h, ld_h, rows, cols);
  else swiglu<false><<<blocks, kThreads, 0, stream>>>(g, ld_g, u, ld_u, h, ld_h, rows, cols);
}

}  // namespace lrb::kernels
