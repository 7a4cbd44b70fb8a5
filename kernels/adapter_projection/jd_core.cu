#include "kernels/adapter_projection/jd_core.cuh"

namespace lrb::kernels {
namespace {

constexpr int kThreads = 128;

// A block a (token, projection): Z[t] staged in fp32, then a warp an output row j (full: lanes over the row
// of S_k, coalesced, reduced by shuffles; diag: one product).
__global__ void jd_core(const JdCoreArgs* __restrict__ args, const int* __restrict__ token_adapter, int R,
                        bool diag) {
  extern __shared__ float z[];
  const int t = static_cast<int>(blockIdx.x);
  const JdCoreArgs a = args[blockIdx.y];
  const int k = token_adapter[t];
  for (int i = threadIdx.x; i < R; i += blockDim.x) z[i] = __half2float(a.Z[static_cast<long long>(t) * R + i]);
  __syncthreads();
  __half* out = a.Zc + static_cast<long long>(t) * R;
  if (k < 0) {
    for (int j = threadIdx.x; j < R; j += blockDim.x) out[j] = __float2half(0.0f);
    return;
  }
  if (diag) {
    const __half* sigma = a.cores + static_cast<long long>(k) * R;
    for (int j = threadIdx.x; j < R; j += blockDim.x) out[j] = __float2half_rn(__half2float(sigma[j]) * z[j]);
    return;
  }
  const __half* S = a.cores + static_cast<long long>(k) * R * R;
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32, warps = blockDim.x / 32;
  for (int j = warp; j < R; j += warps) {
    const __half* row = S + static_cast<long long>(j) * R;
    float s = 0.0f;
    for (int i = lane; i < R; i += 32) s += __half2float(row[i]) * z[i];
    for (int o = 16; o > 0; o /= 2) s += __shfl_xor_sync(0xffffffffu, s, o);
    if (lane == 0) out[j] = __float2half_rn(s);
  }
}

}  // namespace

void launch_jd_core(const JdCoreArgs* args, int projections, const int* token_adapter, int batch, int R, bool diag,
                    cudaStream_t stream) {
  if (batch == 0 || projections == 0) return;
  jd_core<<<dim3(static_cast<unsigned>(batch), static_cast<unsigned>(projections)), kThreads,
            static_cast<std::size_t>(R) * sizeof(float), stream>>>(args, token_adapter, R, diag);
}

}  // namespace lrb::kernels
