#include "kernels/kv_compression/baselines.cuh"

#include <algorithm>

#include "kernels/kv_compression/byte_io.cuh"
#include "kernels/kv_compression/group_quant.cuh"
#include "kernels/kv_compression/group_vector.cuh"

namespace lrb::kernels::baselines {
namespace {

using namespace group_quant;

constexpr int kThreads = 256;

unsigned blocks_for(long long work, int per_block = kThreads) {
  const long long b = (work + per_block - 1) / per_block;
  return static_cast<unsigned>(std::min<long long>(std::max<long long>(b, 1), 65535LL * 32));
}

// ---- fp8 ----
// kRun elements a thread: 8 (one 16-byte load of fp16, 8 code bytes) where a layer's elements are a multiple
// of 8 (every layer's section then starts 16-byte aligned in the cache), else 1.

template <int kRun>
__device__ __forceinline__ void load_run(const __half* in, float f[kRun]) {
  if constexpr (kRun == 8) {
    unpack8(*reinterpret_cast<const uint4*>(in), f);
  } else {
    f[0] = __half2float(in[0]);
  }
}

template <int kRun>
__global__ void fp8_amax(const __half* __restrict__ x, std::size_t per_layer, unsigned* __restrict__ amax) {
  const int l = blockIdx.y;
  const __half* in = x + l * per_layer;
  float m = 0.0f;
  for (std::size_t i = (blockIdx.x * static_cast<std::size_t>(blockDim.x) + threadIdx.x) * kRun; i < per_layer;
       i += static_cast<std::size_t>(gridDim.x) * blockDim.x * kRun) {
    float f[kRun];
    load_run<kRun>(in + i, f);
    for (int j = 0; j < kRun; ++j) m = fmaxf(m, fabsf(f[j]));
  }
  // One atomic per block (one per warp serialized 8M atomics on 32 words: 1.2 ms for a 512 MiB cache).
  __shared__ float warps[kThreads / 32];
  m = warp_max(m);
  if (threadIdx.x % 32 == 0) warps[threadIdx.x / 32] = m;
  __syncthreads();
  if (threadIdx.x < 32) {
    m = threadIdx.x < kThreads / 32 ? warps[threadIdx.x] : 0.0f;
    m = warp_max(m);
    if (threadIdx.x == 0) atomicMax(amax + l, __float_as_uint(m));
  }
}

__device__ __forceinline__ float fp8_scale(unsigned amax_bits) {
  const float amax = __uint_as_float(amax_bits);
  return amax > 0.0f ? __fdiv_rn(amax, 448.0f) : 1.0f;
}

// Layer l's section starts at out + l * (4 + per_layer): the scale's 4 bytes, then the codes.
template <int kRun>
__global__ void fp8_encode(const __half* __restrict__ x, std::size_t per_layer, const unsigned* __restrict__ amax,
                           std::uint8_t* __restrict__ out) {
  const int l = blockIdx.y;
  const float scale = fp8_scale(amax[l]);
  std::uint8_t* section = out + l * (4 + per_layer);
  if (blockIdx.x == 0 && threadIdx.x < 4) section[threadIdx.x] = static_cast<std::uint8_t>(__float_as_uint(scale) >> (8 * threadIdx.x));
  const __half* in = x + l * per_layer;
  for (std::size_t i = (blockIdx.x * static_cast<std::size_t>(blockDim.x) + threadIdx.x) * kRun; i < per_layer;
       i += static_cast<std::size_t>(gridDim.x) * blockDim.x * kRun) {
    float f[kRun];
    load_run<kRun>(in + i, f);
    unsigned long long word = 0;
    for (int j = 0; j < kRun; ++j)
      word |= static_cast<unsigned long long>(__nv_cvt_float_to_fp8(__fdiv_rn(f[j], scale), __NV_SATFINITE, __NV_E4M3))
              << (8 * j);
    byte_io::store(section + 4 + i, word, kRun);
  }
}

template <int kRun>
__global__ void fp8_decode(const std::uint8_t* __restrict__ in, std::size_t per_layer, __half* __restrict__ x) {
  const int l = blockIdx.y;
  const std::uint8_t* section = in + l * (4 + per_layer);
  const float scale = __uint_as_float(static_cast<unsigned>(byte_io::load(section, 4)));
  __half* out = x + l * per_layer;
  for (std::size_t i = (blockIdx.x * static_cast<std::size_t>(blockDim.x) + threadIdx.x) * kRun; i < per_layer;
       i += static_cast<std::size_t>(gridDim.x) * blockDim.x * kRun) {
    const unsigned long long word = byte_io::load(section + 4 + i, kRun);
    alignas(16) __half h[kRun];
    for (int j = 0; j < kRun; ++j) {
      const auto code = static_cast<__nv_fp8_storage_t>(word >> (8 * j));
      h[j] = __float2half_rn(__fmul_rn(__half2float(__half(__nv_cvt_fp8_to_halfraw(code, __NV_E4M3))), scale));
    }
    if constexpr (kRun == 8)
      *reinterpret_cast<uint4*>(out + i) = *reinterpret_cast<const uint4*>(h);
    else
      out[i] = h[0];
  }
}

// ---- group quantization ----

// The cache index of element `e` (blob order) of the quantized region, and the group it belongs to.
struct Slot {
  long long index, group;
};
__device__ __forceinline__ Slot slot_of(long long e, const GroupScheme& s) {
  const int W = s.width();
  if (s.per_channel) {
    // Order: layer, channel, token group, token within the group.
    const long long per_channel = s.quantized;
    const long long lc = e / per_channel;
    const int t = static_cast<int>(e % per_channel), c = static_cast<int>(lc % W), l = static_cast<int>(lc / W);
    return {(static_cast<long long>(l) * s.tokens + t) * W + c, lc * (s.quantized / s.group) + t / s.group};
  }
  // Order: layer, token, channel; groups of `group` channels within the token.
  const long long lt = e / W;
  const int c = static_cast<int>(e % W), t = static_cast<int>(lt % s.quantized), l = static_cast<int>(lt / s.quantized);
  const long long per_token = (W + s.group - 1) / s.group;
  return {(static_cast<long long>(l) * s.tokens + t) * W + c, lt * per_token + c / s.group};
}

// A group's fp16 shift and scale, little-endian: the section may start at any byte (the blob's layout).
__device__ __forceinline__ void store_params(std::uint8_t* params, long long group, const ShiftScale& q) {
  std::uint8_t* p = params + 4 * group;
  p[0] = static_cast<std::uint8_t>(q.shift_bits), p[1] = static_cast<std::uint8_t>(q.shift_bits >> 8);
  p[2] = static_cast<std::uint8_t>(q.scale_bits), p[3] = static_cast<std::uint8_t>(q.scale_bits >> 8);
}

// Per-channel groups: one thread per (layer, channel, token group); adjacent threads read adjacent channels.
__global__ void channel_params(const __half* __restrict__ x, GroupScheme s, std::uint8_t* __restrict__ params) {
  const int W = s.width(), groups_per_channel = s.quantized / s.group;
  const long long total = s.groups();
  for (long long k = blockIdx.x * static_cast<long long>(blockDim.x) + threadIdx.x; k < total;
       k += static_cast<long long>(gridDim.x) * blockDim.x) {
    // Thread order (layer, group, channel) for coalesced reads; blob order (layer, channel, group).
    const int c = static_cast<int>(k % W);
    const long long lg = k / W;
    const int g = static_cast<int>(lg % groups_per_channel), l = static_cast<int>(lg / groups_per_channel);
    const __half* in = x + (static_cast<long long>(l) * s.tokens + static_cast<long long>(g) * s.group) * W + c;
    float mn = INFINITY, mx = -INFINITY;
    for (int t = 0; t < s.group; ++t) {
      const float v = __half2float(in[static_cast<long long>(t) * W]);
      mn = fminf(mn, v), mx = fmaxf(mx, v);
    }
    const ShiftScale q = shift_scale(mn, mx, int_type_of(s.bits));
    const long long at = (static_cast<long long>(l) * W + c) * groups_per_channel + g;
    store_params(params, at, q);
  }
}

// Per-token groups: one warp per group of `group` consecutive channels.
__global__ void token_params(const __half* __restrict__ x, GroupScheme s, std::uint8_t* __restrict__ params) {
  const int W = s.width(), per_token = (W + s.group - 1) / s.group, lane = threadIdx.x % 32;
  const long long total = s.groups(), warps = static_cast<long long>(gridDim.x) * blockDim.x / 32;
  for (long long k = (blockIdx.x * static_cast<long long>(blockDim.x) + threadIdx.x) / 32; k < total; k += warps) {
    const long long lt = k / per_token;
    const int t = static_cast<int>(lt % s.quantized), l = static_cast<int>(lt / s.quantized);
    const int c0 = static_cast<int>(k % per_token) * s.group, n = min(s.group, W - c0);
    const __half* in = x + (static_cast<long long>(l) * s.tokens + t) * W + c0;
    float mn = INFINITY, mx = -INFINITY;
    for (int j = lane; j < n; j += 32) {
      const float v = __half2float(in[j]);
      mn = fminf(mn, v), mx = fmaxf(mx, v);
    }
    mn = warp_min(mn), mx = warp_max(mx);
    if (lane == 0) {
      const ShiftScale q = shift_scale(mn, mx, int_type_of(s.bits));
      store_params(params, k, q);
    }
  }
}

__device__ __forceinline__ ShiftScale params_at(const std::uint8_t* params, long long group, int type) {
  ShiftScale q;
  const std::uint8_t* p = params + 4 * group;
  q.shift_bits = p[0] | (p[1] << 8), q.scale_bits = p[2] | (p[3] << 8);
  q.shift = half_bits_value(q.shift_bits), q.scale = half_bits_value(q.scale_bits), q.top = top_of(type);
  return q;
}

// Byte b of the codes holds elements [b * per_byte, (b + 1) * per_byte) in blob order, LSB first.
// Per-channel: threads ordered (layer, byte of the channel's run, channel) so adjacent threads read adjacent
// channels; per-token: blob order, adjacent threads read adjacent elements.
__device__ __forceinline__ long long byte_of_thread(long long k, const GroupScheme& s, int per_byte) {
  if (!s.per_channel || s.quantized % per_byte != 0) return k;  // a byte spanning two channels: blob order
  const int W = s.width(), bytes_per_channel = s.quantized / per_byte;  // quantized is a multiple of group
  const int c = static_cast<int>(k % W);
  const long long lb = k / W;
  const int b = static_cast<int>(lb % bytes_per_channel), l = static_cast<int>(lb / bytes_per_channel);
  return (static_cast<long long>(l) * W + c) * bytes_per_channel + b;
}

__global__ void group_codes(const __half* __restrict__ x, GroupScheme s, const std::uint8_t* __restrict__ params,
                            std::uint8_t* __restrict__ codes) {
  const int type = int_type_of(s.bits), per_byte = 8 / s.bits;
  const long long coded = s.coded(), total = s.code_bytes();
  for (long long k = blockIdx.x * static_cast<long long>(blockDim.x) + threadIdx.x; k < total;
       k += static_cast<long long>(gridDim.x) * blockDim.x) {
    const long long b = byte_of_thread(k, s, per_byte);
    unsigned byte = 0;
    for (int j = 0; j < per_byte; ++j) {
      const long long e = b * per_byte + j;
      if (e >= coded) break;
      const Slot sl = slot_of(e, s);
      const ShiftScale q = params_at(params, sl.group, type);
      byte |= code_of(__half2float(x[sl.index]), q, type) << (j * s.bits);
    }
    codes[b] = static_cast<std::uint8_t>(byte);
  }
}

__global__ void group_decode(const std::uint8_t* __restrict__ params, const std::uint8_t* __restrict__ codes,
                             GroupScheme s, __half* __restrict__ x) {
  const int type = int_type_of(s.bits), per_byte = 8 / s.bits;
  const unsigned mask = (1u << s.bits) - 1;
  const long long coded = s.coded(), total = s.code_bytes();
  for (long long k = blockIdx.x * static_cast<long long>(blockDim.x) + threadIdx.x; k < total;
       k += static_cast<long long>(gridDim.x) * blockDim.x) {
    const long long b = byte_of_thread(k, s, per_byte);
    const unsigned byte = codes[b];
    for (int j = 0; j < per_byte; ++j) {
      const long long e = b * per_byte + j;
      if (e >= coded) break;
      const Slot sl = slot_of(e, s);
      const ShiftScale q = params_at(params, sl.group, type);
      x[sl.index] = __float2half_rn(value_of((byte >> (j * s.bits)) & mask, q.shift, q.scale, type));
    }
  }
}

// Blocks a layer: enough for the grid to cover every SM several times over all layers.
unsigned fp8_blocks(std::size_t per_layer, int run) {
  return std::min(blocks_for(static_cast<long long>((per_layer + run - 1) / run)), 1024u);
}

}  // namespace

void launch_fp8_amax(const __half* x, int layers, std::size_t per_layer, unsigned* amax, cudaStream_t stream) {
  if (layers == 0 || per_layer == 0) return;
  if (per_layer % 8 == 0)
    fp8_amax<8><<<dim3(fp8_blocks(per_layer, 8), layers), kThreads, 0, stream>>>(x, per_layer, amax);
  else
    fp8_amax<1><<<dim3(fp8_blocks(per_layer, 1), layers), kThreads, 0, stream>>>(x, per_layer, amax);
}

void launch_fp8_encode(const __half* x, int layers, std::size_t per_layer, const unsigned* amax, std::uint8_t* out,
                       cudaStream_t stream) {
  if (layers == 0) return;
  if (per_layer % 8 == 0)
    fp8_encode<8><<<dim3(fp8_blocks(per_layer, 8), layers), kThreads, 0, stream>>>(x, per_layer, amax, out);
  else
    fp8_encode<1><<<dim3(fp8_blocks(per_layer, 1), layers), kThreads, 0, stream>>>(x, per_layer, amax, out);
}

void launch_fp8_decode(const std::uint8_t* in, int layers, std::size_t per_layer, __half* x, cudaStream_t stream) {
  if (layers == 0) return;
  if (per_layer % 8 == 0)
    fp8_decode<8><<<dim3(fp8_blocks(per_layer, 8), layers), kThreads, 0, stream>>>(in, per_layer, x);
  else
    fp8_decode<1><<<dim3(fp8_blocks(per_layer, 1), layers), kThreads, 0, stream>>>(in, per_layer, x);
}

void launch_group_encode(const __half* x, const GroupScheme& s, std::uint8_t* params, std::uint8_t* codes,
                         cudaStream_t stream) {
  if (s.coded() == 0) return;
  if (vector::takes(s)) return vector::launch_encode(x, s, params, codes, stream);
  if (s.per_channel)
    channel_params<<<blocks_for(s.groups()), kThreads, 0, stream>>>(x, s, params);
  else
    token_params<<<blocks_for(s.groups(), kThreads / 32), kThreads, 0, stream>>>(x, s, params);
  group_codes<<<blocks_for(s.code_bytes()), kThreads, 0, stream>>>(x, s, params, codes);
}

void launch_group_decode(const std::uint8_t* params, const std::uint8_t* codes, const GroupScheme& s, __half* x,
                         cudaStream_t stream) {
  if (s.coded() == 0) return;
  if (vector::takes(s)) return vector::launch_decode(params, codes, s, x, stream);
  group_decode<<<blocks_for(s.code_bytes()), kThreads, 0, stream>>>(params, codes, s, x);
}

}  // namespace lrb::kernels::baselines
