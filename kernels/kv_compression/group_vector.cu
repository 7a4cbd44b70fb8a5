#include "kernels/kv_compression/group_vector.cuh"

#include <algorithm>

#include "kernels/kv_compression/byte_io.cuh"
#include "kernels/kv_compression/group_quant.cuh"

namespace lrb::kernels::baselines::vector {
namespace {

using namespace group_quant;

constexpr int kThreads = 256;
constexpr int kRun = 8;  // a per-token thread's elements: one 16-byte load of fp16

unsigned blocks_for(long long threads) {
  return static_cast<unsigned>(std::clamp<long long>((threads + kThreads - 1) / kThreads, 1, 132LL * 16));
}

__device__ __forceinline__ void store_params(std::uint8_t* params, long long group, const ShiftScale& q) {
  byte_io::store(params + 4 * group, q.shift_bits | (q.scale_bits << 16), 4);
}
__device__ __forceinline__ void load_params(const std::uint8_t* params, long long group, float& shift, float& scale) {
  const auto v = static_cast<unsigned>(byte_io::load(params + 4 * group, 4));
  shift = half_bits_value(v & 0xFFFFu), scale = half_bits_value(v >> 16);
}

// The cache index of a per-token thread's first element: blob order (layer, token, channel), runs of 8.
__device__ __forceinline__ long long token_index(long long e0, const GroupScheme& s) {
  const int W = s.width();
  const long long row = e0 / W;
  const int c = static_cast<int>(e0 - row * W);
  const long long l = row / s.quantized, t = row - l * s.quantized;
  return (l * s.tokens + t) * W + c;
}

// Per-token groups: a thread a run of 8 channels, group / 8 consecutive lanes a group (aligned in the warp,
// since the group divides 256). The loop runs while the warp's first lane is in range, so every lane of a
// live group reaches the shuffles.
__global__ void token_encode(const __half* __restrict__ x, GroupScheme s, std::uint8_t* __restrict__ params,
                             std::uint8_t* __restrict__ codes) {
  const int lanes = s.group / kRun, type = int_type_of(s.bits), lane = threadIdx.x % 32;
  const long long runs = s.coded() / kRun, stride = static_cast<long long>(gridDim.x) * blockDim.x;
  for (long long k = blockIdx.x * static_cast<long long>(blockDim.x) + threadIdx.x; k - lane < runs; k += stride) {
    const bool live = k < runs;
    const long long e0 = k * kRun;
    float f[kRun];
    float mn = INFINITY, mx = -INFINITY;
    if (live) {
      unpack8(*reinterpret_cast<const uint4*>(x + token_index(e0, s)), f);
      for (int j = 0; j < kRun; ++j) mn = fminf(mn, f[j]), mx = fmaxf(mx, f[j]);
    }
    for (int o = lanes / 2; o > 0; o /= 2) {
      mn = fminf(mn, __shfl_xor_sync(0xffffffffu, mn, o));
      mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, o));
    }
    if (!live) continue;
    const ShiftScale q = shift_scale(mn, mx, type);
    unsigned long long word = 0;
    for (int j = 0; j < kRun; ++j) word |= static_cast<unsigned long long>(code_of(f[j], q, type)) << (j * s.bits);
    byte_io::store(codes + e0 * s.bits / 8, word, s.bits);  // 8 codes of `bits` bits: `bits` bytes
    if (k % lanes == 0) store_params(params, e0 / s.group, q);
  }
}

__global__ void token_decode(const std::uint8_t* __restrict__ params, const std::uint8_t* __restrict__ codes,
                             GroupScheme s, __half* __restrict__ x) {
  const int type = int_type_of(s.bits);
  const unsigned long long mask = (1ull << s.bits) - 1;
  const long long runs = s.coded() / kRun, stride = static_cast<long long>(gridDim.x) * blockDim.x;
  for (long long k = blockIdx.x * static_cast<long long>(blockDim.x) + threadIdx.x; k < runs; k += stride) {
    const long long e0 = k * kRun;
    float shift, scale;
    load_params(params, e0 / s.group, shift, scale);
    const unsigned long long word = byte_io::load(codes + e0 * s.bits / 8, s.bits);
    uint4 out;
    __half2* h = reinterpret_cast<__half2*>(&out);
    for (int i = 0; i < kRun / 2; ++i) {
      const float a = value_of(static_cast<unsigned>((word >> (2 * i * s.bits)) & mask), shift, scale, type);
      const float b = value_of(static_cast<unsigned>((word >> ((2 * i + 1) * s.bits)) & mask), shift, scale, type);
      h[i] = __halves2half2(__float2half_rn(a), __float2half_rn(b));
    }
    *reinterpret_cast<uint4*>(x + token_index(e0, s)) = out;
  }
}

// Per-channel groups: a thread a (layer, token group, channel), adjacent threads adjacent channels (coalesced
// reads); the group's codes are a run of group x bits / 8 bytes at a byte boundary (group % 4 == 0).
struct ChannelGroup {
  long long first;  // cache index of the group's first element
  long long at;     // the group's index in blob order (layer, channel, token group)
};
__device__ __forceinline__ ChannelGroup channel_group(long long k, const GroupScheme& s) {
  const int W = s.width(), per_channel = s.quantized / s.group;
  const long long lg = k / W;
  const int c = static_cast<int>(k - lg * W);
  const long long l = lg / per_channel, g = lg - l * per_channel;
  return {(l * s.tokens + g * s.group) * W + c, (l * W + c) * per_channel + g};
}

__global__ void channel_encode(const __half* __restrict__ x, GroupScheme s, std::uint8_t* __restrict__ params,
                               std::uint8_t* __restrict__ codes) {
  const int W = s.width(), type = int_type_of(s.bits);
  const long long total = s.groups(), stride = static_cast<long long>(gridDim.x) * blockDim.x;
  for (long long k = blockIdx.x * static_cast<long long>(blockDim.x) + threadIdx.x; k < total; k += stride) {
    const ChannelGroup cg = channel_group(k, s);
    const __half* in = x + cg.first;
    float mn = INFINITY, mx = -INFINITY;
    for (int t = 0; t < s.group; ++t) {
      const float v = __half2float(in[static_cast<long long>(t) * W]);
      mn = fminf(mn, v), mx = fmaxf(mx, v);
    }
    const ShiftScale q = shift_scale(mn, mx, type);
    store_params(params, cg.at, q);
    std::uint8_t* out = codes + cg.at * s.group * s.bits / 8;
    unsigned long long word = 0;
    int bit = 0;
    for (int t = 0; t < s.group; ++t) {
      word |= static_cast<unsigned long long>(code_of(__half2float(in[static_cast<long long>(t) * W]), q, type)) << bit;
      bit += s.bits;
      if (bit == 64) byte_io::store(out, word, 8), out += 8, word = 0, bit = 0;
    }
    byte_io::store_any(out, word, bit / 8);
  }
}

__global__ void channel_decode(const std::uint8_t* __restrict__ params, const std::uint8_t* __restrict__ codes,
                               GroupScheme s, __half* __restrict__ x) {
  const int W = s.width(), type = int_type_of(s.bits), per_word = 64 / s.bits;
  const unsigned long long mask = (1ull << s.bits) - 1;
  const long long total = s.groups(), stride = static_cast<long long>(gridDim.x) * blockDim.x;
  for (long long k = blockIdx.x * static_cast<long long>(blockDim.x) + threadIdx.x; k < total; k += stride) {
    const ChannelGroup cg = channel_group(k, s);
    float shift, scale;
    load_params(params, cg.at, shift, scale);
    const std::uint8_t* in = codes + cg.at * s.group * s.bits / 8;
    __half* out = x + cg.first;
    for (int t0 = 0; t0 < s.group; t0 += per_word) {
      const int n = min(per_word, s.group - t0);
      const unsigned long long word = byte_io::load_any(in, n * s.bits / 8);
      in += n * s.bits / 8;
      for (int j = 0; j < n; ++j)
        out[static_cast<long long>(t0 + j) * W] =
            __float2half_rn(value_of(static_cast<unsigned>((word >> (j * s.bits)) & mask), shift, scale, type));
    }
  }
}

}  // namespace

bool takes(const GroupScheme& s) {
  if (s.bits != 2 && s.bits != 4 && s.bits != 8) return false;
  if (s.per_channel) return s.group > 0 && s.group % 4 == 0;
  const int W = s.width();
  const bool power_of_two = s.group >= kRun && s.group <= 256 && (s.group & (s.group - 1)) == 0;
  return power_of_two && W % s.group == 0;
}

void launch_encode(const __half* x, const GroupScheme& s, std::uint8_t* params, std::uint8_t* codes,
                   cudaStream_t stream) {
  if (s.per_channel)
    channel_encode<<<blocks_for(s.groups()), kThreads, 0, stream>>>(x, s, params, codes);
  else
    token_encode<<<blocks_for(s.coded() / kRun), kThreads, 0, stream>>>(x, s, params, codes);
}

void launch_decode(const std::uint8_t* params, const std::uint8_t* codes, const GroupScheme& s, __half* x,
                   cudaStream_t stream) {
  if (s.per_channel)
    channel_decode<<<blocks_for(s.groups()), kThreads, 0, stream>>>(params, codes, s, x);
  else
    token_decode<<<blocks_for(s.coded() / kRun), kThreads, 0, stream>>>(params, codes, s, x);
}

}  // namespace lrb::kernels::baselines::vector
