#include "kernels/kv_compression/kvtc.cuh"

#include "kernels/kv_compression/group_quant.cuh"

namespace lrb::kernels::kvtc {
namespace {

using namespace group_quant;

constexpr int kThreads = 256;
constexpr int kRowThreads = 128;  // (de)quantizers: 4 warps per row

// The position of element d's RoPE partner, the pair's frequency index, and whether d is the pair's first.
struct RopePair {
  int partner, q;
  bool first;
};
__device__ __forceinline__ RopePair rope_pair(int d, const CacheGeometry& g) {
  const int half = g.rotary_dims / 2;
  if (g.interleaved) return {d ^ 1, d / 2, (d & 1) == 0};
  return d < half ? RopePair{d + half, d, true} : RopePair{d - half, d - half, false};
}

// Element e of the coded tokens' cache, in its [layer][row][head][dim] order.
struct Element {
  int l, i, h, d;
};
__device__ __forceinline__ Element element_of(long long e, const CacheGeometry& g) {
  Element el;
  el.d = static_cast<int>(e % g.head_dim);
  long long rest = e / g.head_dim;
  el.h = static_cast<int>(rest % g.heads);
  rest /= g.heads;
  el.i = static_cast<int>(rest % g.coded);
  el.l = static_cast<int>(rest / g.coded);
  return el;
}

__global__ void prepare_vectors(const __half* __restrict__ cache, CacheGeometry g, const float* __restrict__ mean,
                                __half* __restrict__ X) {
  const long long total = static_cast<long long>(g.layers) * g.coded * g.heads * g.head_dim;
  const int p = g.p();
  for (long long e = blockIdx.x * static_cast<long long>(blockDim.x) + threadIdx.x; e < total;
       e += static_cast<long long>(gridDim.x) * blockDim.x) {
    const Element el = element_of(e, g);
    const int d = el.d, h = el.h, i = el.i, l = el.l, pos = g.first + i;
    const __half* head = cache + ((static_cast<long long>(l) * g.tokens + pos) * g.heads + h) * g.head_dim;
    float v = __half2float(head[d]);
    if (g.rope && d < g.rotary_dims) {
      const RopePair r = rope_pair(d, g);
      const float c = g.cos[static_cast<long long>(pos) * (g.rotary_dims / 2) + r.q];
      const float s = g.sin[static_cast<long long>(pos) * (g.rotary_dims / 2) + r.q];
      const float o = __half2float(head[r.partner]);
      v = r.first ? v * c + o * s : v * c - o * s;  // the rotation by -angle
    }
    const int stream = g.per_head ? l * g.heads + h : 0;
    const int j = g.per_head ? d : (l * g.heads + h) * g.head_dim + d;
    X[(static_cast<long long>(stream) * g.coded + i) * p + j] = __float2half_rn(v - mean[static_cast<long long>(stream) * p + j]);
  }
}

__global__ void restore_vectors(const float* __restrict__ Xhat, CacheGeometry g, const float* __restrict__ mean,
                                __half* __restrict__ cache) {
  const long long total = static_cast<long long>(g.layers) * g.coded * g.heads * g.head_dim;
  const int p = g.p();
  for (long long e = blockIdx.x * static_cast<long long>(blockDim.x) + threadIdx.x; e < total;
       e += static_cast<long long>(gridDim.x) * blockDim.x) {
    const Element el = element_of(e, g);
    const int d = el.d, h = el.h, i = el.i, l = el.l, pos = g.first + i;
    const int stream = g.per_head ? l * g.heads + h : 0;
    const int j0 = g.per_head ? 0 : (l * g.heads + h) * g.head_dim;  // the head's start inside the vector
    const float* x = Xhat + (static_cast<long long>(stream) * g.coded + i) * p + j0;
    const float* m = mean + static_cast<long long>(stream) * p + j0;
    float v = x[d] + m[d];
    if (g.rope && d < g.rotary_dims) {
      const RopePair r = rope_pair(d, g);
      const float c = g.cos[static_cast<long long>(pos) * (g.rotary_dims / 2) + r.q];
      const float s = g.sin[static_cast<long long>(pos) * (g.rotary_dims / 2) + r.q];
      const float o = x[r.partner] + m[r.partner];
      v = r.first ? v * c - o * s : o * s + v * c;
    }
    cache[((static_cast<long long>(l) * g.tokens + pos) * g.heads + h) * g.head_dim + d] = __float2half_rn(v);
  }
}

__global__ void quantize_pack(const float* __restrict__ C, int ldc, long long stride_c,
                              const DeviceStream* __restrict__ streams, const DeviceGroup* __restrict__ groups,
                              std::uint8_t* __restrict__ payload) {
  extern __shared__ unsigned row[];
  const DeviceStream st = streams[blockIdx.y];
  const int i = blockIdx.x;
  const int words = (st.row_bytes + 3) / 4 + 1;
  for (int w = threadIdx.x; w < words; w += blockDim.x) row[w] = 0;
  __syncthreads();
  const float* c = C + blockIdx.y * stride_c + static_cast<long long>(i) * ldc;
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32, warps = blockDim.x / 32;
  for (int k = warp; k < st.group_count; k += warps) {
    const DeviceGroup gr = groups[st.group_begin + k];
    if (gr.type == kDropped) continue;
    float mn = INFINITY, mx = -INFINITY;
    for (int j = lane; j < gr.size; j += 32) {
      const float v = c[gr.begin + j];
      mn = fminf(mn, v), mx = fmaxf(mx, v);
    }
    mn = warp_min(mn), mx = warp_max(mx);
    const ShiftScale q = shift_scale(mn, mx, gr.type);
    if (lane == 0) row[gr.param] = q.shift_bits | (q.scale_bits << 16);
    const int w = bits_of(gr.type);
    const int base = 32 * st.kept + gr.code_bit;
    for (int j = lane; j < gr.size; j += 32) {
      const unsigned code = code_of(c[gr.begin + j], q, gr.type);
      const int pos = base + j * w, word = pos >> 5, off = pos & 31;
      atomicOr(&row[word], code << off);
      if (off + w > 32) atomicOr(&row[word + 1], code >> (32 - off));
    }
  }
  __syncthreads();
  std::uint8_t* out = payload + st.payload_offset + static_cast<long long>(i) * st.row_bytes;
  const auto* bytes = reinterpret_cast<const std::uint8_t*>(row);
  for (int b = threadIdx.x; b < st.row_bytes; b += blockDim.x) out[b] = bytes[b];
}

__global__ void unpack_dequantize(const std::uint8_t* __restrict__ payload, const DeviceStream* __restrict__ streams,
                                  const DeviceGroup* __restrict__ groups, __half* __restrict__ C16, int ldc,
                                  long long stride_c) {
  extern __shared__ unsigned row[];
  const DeviceStream st = streams[blockIdx.y];
  const int i = blockIdx.x;
  const int words = (st.row_bytes + 3) / 4 + 2;
  const std::uint8_t* in = payload + st.payload_offset + static_cast<long long>(i) * st.row_bytes;
  auto* bytes = reinterpret_cast<std::uint8_t*>(row);
  for (int b = threadIdx.x; b < 4 * words; b += blockDim.x) bytes[b] = b < st.row_bytes ? in[b] : 0;
  __syncthreads();
  __half* c = C16 + blockIdx.y * stride_c + static_cast<long long>(i) * ldc;
  for (int j = st.components + threadIdx.x; j < ldc; j += blockDim.x) c[j] = __float2half_rn(0.0f);
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32, warps = blockDim.x / 32;
  for (int k = warp; k < st.group_count; k += warps) {
    const DeviceGroup gr = groups[st.group_begin + k];
    if (gr.type == kDropped) {
      for (int j = lane; j < gr.size; j += 32) c[gr.begin + j] = __float2half_rn(0.0f);
      continue;
    }
    const unsigned param = row[gr.param];
    const float shift = half_bits_value(param & 0xFFFFu), scale = half_bits_value(param >> 16);
    const int w = bits_of(gr.type);
    const unsigned mask = (1u << w) - 1;
    const int base = 32 * st.kept + gr.code_bit;
    for (int j = lane; j < gr.size; j += 32) {
      const int pos = base + j * w, word = pos >> 5, off = pos & 31;
      const unsigned long long pair = row[word] | (static_cast<unsigned long long>(row[word + 1]) << 32);
      const unsigned code = static_cast<unsigned>(pair >> off) & mask;
      c[gr.begin + j] = __float2half_rn(value_of(code, shift, scale, gr.type));
    }
  }
}

// A block per (layer, raw position): the token's heads x head_dim halfs in `Vec` units (16 or 8 bytes where
// both sides are aligned, else halfs). v1 copied element by element with 64-bit divisions per element: at
// 132 raw tokens of Llama-2-7B (35 MB a tensor) that alone was a sizeable part of a 1.5 ms direction.
template <class Vec>
__global__ void copy_raw(__half* __restrict__ cache, __half* __restrict__ raw, const int* __restrict__ positions,
                         int count, CacheGeometry g, bool to_raw) {
  constexpr int kHalfs = sizeof(Vec) / sizeof(__half);
  const int width = g.heads * g.head_dim / kHalfs, i = blockIdx.x, l = blockIdx.y;
  Vec* c = reinterpret_cast<Vec*>(cache + (static_cast<long long>(l) * g.tokens + positions[i]) * g.heads * g.head_dim);
  Vec* r = reinterpret_cast<Vec*>(raw + (static_cast<long long>(l) * count + i) * g.heads * g.head_dim);
  for (int e = threadIdx.x; e < width; e += blockDim.x) {
    if (to_raw) r[e] = c[e];
    else c[e] = r[e];
  }
}

unsigned blocks_for(long long total) {
  const long long b = (total + kThreads - 1) / kThreads;
  return static_cast<unsigned>(b < 65535LL * 16 ? b : 65535LL * 16);
}

std::size_t row_shared_bytes(int max_row_bytes) { return 4 * (static_cast<std::size_t>(max_row_bytes + 3) / 4 + 2); }

}  // namespace

void launch_prepare_vectors(const __half* cache, const CacheGeometry& g, const float* mean, __half* X,
                            cudaStream_t stream) {
  const long long total = static_cast<long long>(g.layers) * g.coded * g.heads * g.head_dim;
  if (total > 0) prepare_vectors<<<blocks_for(total), kThreads, 0, stream>>>(cache, g, mean, X);
}

void launch_restore_vectors(const float* Xhat, const CacheGeometry& g, const float* mean, __half* cache,
                            cudaStream_t stream) {
  const long long total = static_cast<long long>(g.layers) * g.coded * g.heads * g.head_dim;
  if (total > 0) restore_vectors<<<blocks_for(total), kThreads, 0, stream>>>(Xhat, g, mean, cache);
}

void launch_quantize_pack(const float* C, int ldc, long long stride_c, const DeviceStream* streams, int stream_count,
                          const DeviceGroup* groups, int rows, int max_row_bytes, std::uint8_t* payload,
                          cudaStream_t stream) {
  if (rows == 0 || stream_count == 0) return;
  const std::size_t shared = row_shared_bytes(max_row_bytes);
  quantize_pack<<<dim3(rows, stream_count), kRowThreads, shared, stream>>>(C, ldc, stride_c, streams, groups, payload);
}

void launch_unpack_dequantize(const std::uint8_t* payload, const DeviceStream* streams, int stream_count,
                              const DeviceGroup* groups, int rows, int max_row_bytes, __half* C16, int ldc,
                              long long stride_c, cudaStream_t stream) {
  if (rows == 0 || stream_count == 0) return;
  const std::size_t shared = row_shared_bytes(max_row_bytes);
  unpack_dequantize<<<dim3(rows, stream_count), kRowThreads, shared, stream>>>(payload, streams, groups, C16, ldc,
                                                                              stride_c);
}

void configure_row_kernels(int max_row_bytes) {
  const int shared = static_cast<int>(row_shared_bytes(max_row_bytes));
  if (shared <= 48 * 1024) return;
  cudaFuncSetAttribute(quantize_pack, cudaFuncAttributeMaxDynamicSharedMemorySize, shared);
  cudaFuncSetAttribute(unpack_dequantize, cudaFuncAttributeMaxDynamicSharedMemorySize, shared);
}

void launch_copy_raw(__half* cache, __half* raw, const int* positions, int count, const CacheGeometry& g, bool to_raw,
                     cudaStream_t stream) {
  if (count == 0 || g.layers == 0 || g.heads * g.head_dim == 0) return;
  const int width = g.heads * g.head_dim;
  // Every row of both sides starts at base + k * width halfs: aligned to a unit if the bases are and width is
  // a multiple of it.
  const auto aligned = [&](int bytes) {
    return reinterpret_cast<std::uintptr_t>(cache) % bytes == 0 && reinterpret_cast<std::uintptr_t>(raw) % bytes == 0 &&
           width * 2 % bytes == 0;
  };
  const dim3 grid(count, g.layers);
  if (aligned(16)) copy_raw<uint4><<<grid, kThreads, 0, stream>>>(cache, raw, positions, count, g, to_raw);
  else if (aligned(8)) copy_raw<uint2><<<grid, kThreads, 0, stream>>>(cache, raw, positions, count, g, to_raw);
  else copy_raw<__half><<<grid, kThreads, 0, stream>>>(cache, raw, positions, count, g, to_raw);
}

}  // namespace lrb::kernels::kvtc
