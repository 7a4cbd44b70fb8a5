#include "kernels/kv_compression/int8_per_token.cuh"

namespace lrb::kernels {
namespace {

constexpr int kThreads = 256;

// One block per vector: block-wide max of |x|, then quantize.
__global__ void encode(const __half* __restrict__ x, int width, __half* __restrict__ scales,
                       std::int8_t* __restrict__ codes) {
  const std::size_t v = blockIdx.x;
  const __half* row = x + v * width;
  float amax = 0.f;
  for (int i = threadIdx.x; i < width; i += kThreads) amax = fmaxf(amax, fabsf(__half2float(row[i])));
  __shared__ float partial[kThreads / 32];
  for (int o = 16; o > 0; o /= 2) amax = fmaxf(amax, __shfl_xor_sync(0xffffffffu, amax, o));
  if (threadIdx.x % 32 == 0) partial[threadIdx.x / 32] = amax;
  __syncthreads();
  if (threadIdx.x < 32) {
    amax = threadIdx.x < kThreads / 32 ? partial[threadIdx.x] : 0.f;
    for (int o = 16; o > 0; o /= 2) amax = fmaxf(amax, __shfl_xor_sync(0xffffffffu, amax, o));
    if (threadIdx.x == 0) partial[0] = amax;
  }
  __syncthreads();
  amax = partial[0];
  const __half scale = __float2half_rn(amax > 0.f ? __fdiv_rn(amax, 127.0f) : 1.0f);
  if (threadIdx.x == 0) scales[v] = scale;
  const float inv = __fdiv_rn(1.0f, __half2float(scale));
  std::int8_t* out = codes + v * width;
  for (int i = threadIdx.x; i < width; i += kThreads) {
    const float q = rintf(__fmul_rn(__half2float(row[i]), inv));
    out[i] = static_cast<std::int8_t>(fminf(fmaxf(q, -127.f), 127.f));
  }
}

__global__ void decode(const __half* __restrict__ scales, const std::int8_t* __restrict__ codes, int width,
                       __half* __restrict__ out) {
  const std::size_t v = blockIdx.x;
  const float s = __half2float(scales[v]);
  for (int i = threadIdx.x; i < width; i += kThreads)
    out[v * width + i] = __float2half_rn(__fmul_rn(static_cast<float>(codes[v * width + i]), s));
}

}  // namespace

void launch_int8_encode(const __half* x, std::size_t vectors, int width, __half* scales, std::int8_t* codes,
                        cudaStream_t stream) {
  if (vectors > 0) encode<<<static_cast<unsigned>(vectors), kThreads, 0, stream>>>(x, width, scales, codes);
}

void launch_int8_decode(const __half* scales, const std::int8_t* codes, std::size_t vectors, int width, __half* out,
                        cudaStream_t stream) {
  if (vectors > 0) decode<<<static_cast<unsigned>(vectors), kThreads, 0, stream>>>(scales, codes, width, out);
}

}  // namespace lrb::kernels
