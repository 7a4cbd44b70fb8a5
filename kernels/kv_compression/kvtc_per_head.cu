#include "kernels/kv_compression/kvtc_per_head.cuh"

#include <mma.h>

#include <algorithm>
#include <type_traits>

#include "kernels/kv_compression/group_quant.cuh"

namespace lrb::kernels::kvtc {
namespace {

using namespace group_quant;
namespace wmma = nvcuda::wmma;

constexpr int kThreads = 128;        // 4 warps
constexpr int kTileRows = 64;        // coded tokens per tile: 16 per warp (one WMMA row tile)
constexpr int kLanesPerRow = 8;      // the (de)quantizers: 4 rows of a warp at once, 8 lanes each
constexpr int kRowsPerPass = 32 / kLanesPerRow;

__host__ __device__ constexpr int round_up(int x, int m) { return (x + m - 1) / m * m; }

// Shared memory of one block (byte offsets, each region 128-byte aligned for WMMA's 32-byte rule).
struct Layout {
  int ldx, ldf, ldb, row_words;  // halfs per row of X / C16 and of the basis, floats per row of C / Xhat, words per row
  int groups, mean, basis, x, f, rows, total;
  __host__ __device__ Layout(int D, int rmax, int max_groups, int max_row_bytes) {
    const int rpad = round_up(rmax, 16);
    ldx = D + 8, ldf = D + 4, ldb = D + 8;  // +8 halfs: rows 16 bytes apart in the banks (WMMA loads)
    row_words = (max_row_bytes + 3) / 4 + 2;
    groups = 0;
    mean = round_up(groups + max_groups * static_cast<int>(sizeof(DeviceGroup)), 128);
    basis = round_up(mean + D * static_cast<int>(sizeof(float)), 128);
    x = round_up(basis + rpad * ldb * 2, 128);
    f = round_up(x + kTileRows * ldx * 2, 128);
    rows = round_up(f + kTileRows * ldf * 4, 128);
    total = round_up(rows + (kThreads / 32) * kRowsPerPass * row_words * 4, 128);
  }
};

// The stream's groups, mean and basis (rows [rmax, rpad) zero) into shared memory.
template <int D>
__device__ void load_stream(const PerHeadTensor& t, const DeviceStream& st, int s, const Layout& L,
                            unsigned char* smem) {
  auto* gs = reinterpret_cast<DeviceGroup*>(smem + L.groups);
  auto* ms = reinterpret_cast<float*>(smem + L.mean);
  auto* bs = reinterpret_cast<__half*>(smem + L.basis);
  for (int k = threadIdx.x; k < st.group_count; k += kThreads) gs[k] = t.groups[st.group_begin + k];
  for (int j = threadIdx.x; j < D; j += kThreads) ms[j] = t.mean[static_cast<long long>(s) * D + j];
  const int rpad = round_up(t.rmax, 16);
  const __half* b = t.basis + static_cast<long long>(s) * t.rmax * D;
  for (int idx = threadIdx.x; idx < rpad * D / 8; idx += kThreads) {
    const int c = idx / (D / 8), j = idx % (D / 8) * 8;
    uint4 v = make_uint4(0, 0, 0, 0);
    if (c < t.rmax) v = *reinterpret_cast<const uint4*>(b + c * D + j);
    *reinterpret_cast<uint4*>(bs + c * L.ldb + j) = v;
  }
}

// Work item k of a head vector's D / 2 pairs: the two dims, and the RoPE frequency (-1: not rotated).
// RoPE pairs first (interleaved (2q, 2q + 1) or NeoX (q, q + rot / 2)), then the unrotated dims two by two.
struct Pair {
  int a, b, q;
};
__device__ __forceinline__ Pair pair_of(int k, const CacheGeometry& g) {
  const int half = g.rotary_dims / 2;
  if (!g.rope) return {2 * k, 2 * k + 1, -1};
  if (k < half) return g.interleaved ? Pair{2 * k, 2 * k + 1, k} : Pair{k, k + half, k};
  const int j = k - half;
  return {g.rotary_dims + 2 * j, g.rotary_dims + 2 * j + 1, -1};
}

// One warp: out[16 x 16 n_tiles] (fp32) = A[16 x 16 k_tiles] (fp16, row-major) B, where B's 16 x 16 tile
// (k, n) starts at b + k * b_k + n * b_n with leading dimension ldb in layout BLayout.
template <class BLayout>
__device__ __forceinline__ void warp_gemm(const __half* a, int lda, int k_tiles, const __half* b, int ldb, int b_k,
                                          int b_n, int n_tiles, float* out, int ldo) {
  for (int n = 0; n < n_tiles; ++n) {
    wmma::fragment<wmma::accumulator, 16, 16, 16, float> acc;
    wmma::fill_fragment(acc, 0.0f);
    for (int k = 0; k < k_tiles; ++k) {
      wmma::fragment<wmma::matrix_a, 16, 16, 16, __half, wmma::row_major> fa;
      wmma::fragment<wmma::matrix_b, 16, 16, 16, __half, BLayout> fb;
      wmma::load_matrix_sync(fa, a + k * 16, lda);
      wmma::load_matrix_sync(fb, b + k * b_k + n * b_n, ldb);
      wmma::mma_sync(acc, fa, fb, acc);
    }
    wmma::store_matrix_sync(out + n * 16, acc, ldo, wmma::mem_row_major);
  }
}

template <int D>
__global__ void __launch_bounds__(kThreads) per_head_encode(const __half* __restrict__ cache, CacheGeometry g,
                                                            PerHeadTensor t, std::uint8_t* __restrict__ payload) {
  extern __shared__ __align__(128) unsigned char smem[];
  const Layout L(D, t.rmax, t.max_groups, t.max_row_bytes);
  const int s = blockIdx.y, l = s / g.heads, h = s % g.heads;
  const DeviceStream st = t.streams[s];
  load_stream<D>(t, st, s, L, smem);
  const auto* gs = reinterpret_cast<const DeviceGroup*>(smem + L.groups);
  const auto* ms = reinterpret_cast<const float*>(smem + L.mean);
  const auto* bs = reinterpret_cast<const __half*>(smem + L.basis);
  auto* xs = reinterpret_cast<__half*>(smem + L.x);
  auto* fs = reinterpret_cast<float*>(smem + L.f);
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  unsigned* rows = reinterpret_cast<unsigned*>(smem + L.rows) + warp * kRowsPerPass * L.row_words;
  const int rpad = round_up(t.rmax, 16), half_rot = g.rotary_dims / 2;
  const int tiles = (g.coded + kTileRows - 1) / kTileRows;
  __syncthreads();

  for (int tile = blockIdx.x; tile < tiles; tile += gridDim.x) {
    const int row0 = tile * kTileRows;
    // 1. The tile's head vectors, 16 bytes per load (rows past the coded tokens as zeros).
    for (int idx = threadIdx.x; idx < kTileRows * D / 8; idx += kThreads) {
      const int r = idx / (D / 8), j = idx % (D / 8) * 8, i = row0 + r;
      uint4 v = make_uint4(0, 0, 0, 0);
      if (i < g.coded)
        v = *reinterpret_cast<const uint4*>(
            cache + ((static_cast<long long>(l) * g.tokens + g.first + i) * g.heads + h) * D + j);
      *reinterpret_cast<uint4*>(xs + r * L.ldx + j) = v;
    }
    __syncthreads();
    // 2. RoPE undone (rotation by -angle, as v1 and the CPU path) and the mean subtracted, pair by pair in place.
    for (int idx = threadIdx.x; idx < kTileRows * D / 2; idx += kThreads) {
      const int r = idx / (D / 2), i = min(row0 + r, g.coded - 1);
      const Pair pr = pair_of(idx % (D / 2), g);
      __half* x = xs + r * L.ldx;
      float ya = __half2float(x[pr.a]), yb = __half2float(x[pr.b]);
      if (pr.q >= 0) {
        const long long at = static_cast<long long>(g.first + i) * half_rot + pr.q;
        const float c = g.cos[at], sn = g.sin[at], xa = ya, xb = yb;
        ya = xa * c + xb * sn;
        yb = xb * c - xa * sn;
      }
      x[pr.a] = __float2half_rn(ya - ms[pr.a]);
      x[pr.b] = __float2half_rn(yb - ms[pr.b]);
    }
    __syncthreads();
    // 3. C = X B^T on tensor cores: each warp its 16 rows, every column tile (B^T's tile (k, n) is the
    //    column-major view of the basis rows n).
    warp_gemm<wmma::col_major>(xs + warp * 16 * L.ldx, L.ldx, D / 16, bs, L.ldb, 16, 16 * L.ldb, rpad / 16,
                               fs + warp * 16 * L.ldf, L.ldf);
    __syncwarp();
    // 4. Quantize and pack the warp's rows, 4 at a time (8 lanes each), and store them.
    const int sub = lane / kLanesPerRow, sl = lane % kLanesPerRow;
    unsigned* row = rows + sub * L.row_words;
    for (int pass = 0; pass < 16 / kRowsPerPass; ++pass) {
      const int r = warp * 16 + pass * kRowsPerPass + sub, i = row0 + r;
      const bool live = i < g.coded;
      for (int w = sl; w < L.row_words; w += kLanesPerRow) row[w] = 0;
      __syncwarp();
      const float* c = fs + r * L.ldf;
      for (int k = 0; k < st.group_count; ++k) {
        const DeviceGroup gr = gs[k];
        if (gr.type == kDropped) continue;
        float mn = INFINITY, mx = -INFINITY;
        for (int j = sl; j < gr.size; j += kLanesPerRow) mn = fminf(mn, c[gr.begin + j]), mx = fmaxf(mx, c[gr.begin + j]);
        for (int o = kLanesPerRow / 2; o > 0; o /= 2) {
          mn = fminf(mn, __shfl_xor_sync(0xffffffffu, mn, o));
          mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, o));
        }
        const ShiftScale q = shift_scale(mn, mx, gr.type);
        if (sl == 0) row[gr.param] = q.shift_bits | (q.scale_bits << 16);
        const int w = bits_of(gr.type), base = 32 * st.kept + gr.code_bit;
        for (int j = sl; j < gr.size; j += kLanesPerRow) {
          const unsigned code = code_of(c[gr.begin + j], q, gr.type);
          const int pos = base + j * w, word = pos >> 5, off = pos & 31;
          atomicOr(&row[word], code << off);
          if (off + w > 32) atomicOr(&row[word + 1], code >> (32 - off));
        }
      }
      __syncwarp();
      if (live) {
        std::uint8_t* out = payload + st.payload_offset + static_cast<long long>(i) * st.row_bytes;
        const auto* bytes = reinterpret_cast<const std::uint8_t*>(row);
        for (int b = sl; b < st.row_bytes; b += kLanesPerRow) out[b] = bytes[b];
      }
      __syncwarp();
    }
    __syncthreads();  // xs is the next tile's
  }
}

template <int D>
__global__ void __launch_bounds__(kThreads) per_head_decode(const std::uint8_t* __restrict__ payload,
                                                            CacheGeometry g, PerHeadTensor t,
                                                            __half* __restrict__ cache) {
  extern __shared__ __align__(128) unsigned char smem[];
  const Layout L(D, t.rmax, t.max_groups, t.max_row_bytes);
  const int s = blockIdx.y, l = s / g.heads, h = s % g.heads;
  const DeviceStream st = t.streams[s];
  load_stream<D>(t, st, s, L, smem);
  const auto* gs = reinterpret_cast<const DeviceGroup*>(smem + L.groups);
  const auto* ms = reinterpret_cast<const float*>(smem + L.mean);
  const auto* bs = reinterpret_cast<const __half*>(smem + L.basis);
  auto* cs = reinterpret_cast<__half*>(smem + L.x);   // coefficients, fp16, [row][rpad] (ld ldx)
  auto* fs = reinterpret_cast<float*>(smem + L.f);    // Xhat, fp32, [row][D] (ld ldf)
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  unsigned* rows = reinterpret_cast<unsigned*>(smem + L.rows) + warp * kRowsPerPass * L.row_words;
  const int rpad = round_up(t.rmax, 16), half_rot = g.rotary_dims / 2;
  const int tiles = (g.coded + kTileRows - 1) / kTileRows;
  const int sub = lane / kLanesPerRow, sl = lane % kLanesPerRow;
  __syncthreads();

  for (int tile = blockIdx.x; tile < tiles; tile += gridDim.x) {
    const int row0 = tile * kTileRows;
    // 1. The warp's 16 rows unpacked and dequantized into C16 (dropped, padding and rows past the end: 0).
    for (int pass = 0; pass < 16 / kRowsPerPass; ++pass) {
      const int r = warp * 16 + pass * kRowsPerPass + sub, i = row0 + r;
      unsigned* row = rows + sub * L.row_words;
      auto* bytes = reinterpret_cast<std::uint8_t*>(row);
      const std::uint8_t* in = payload + st.payload_offset + static_cast<long long>(i) * st.row_bytes;
      for (int b = sl; b < 4 * L.row_words; b += kLanesPerRow) bytes[b] = i < g.coded && b < st.row_bytes ? in[b] : 0;
      __half* c = cs + r * L.ldx;
      for (int j = sl; j < rpad; j += kLanesPerRow) c[j] = __float2half_rn(0.0f);
      __syncwarp();
      if (i < g.coded)
        for (int k = 0; k < st.group_count; ++k) {
          const DeviceGroup gr = gs[k];
          if (gr.type == kDropped) continue;
          const unsigned param = row[gr.param];
          const float shift = half_bits_value(param & 0xFFFFu), scale = half_bits_value(param >> 16);
          const int w = bits_of(gr.type), base = 32 * st.kept + gr.code_bit;
          const unsigned mask = (1u << w) - 1;
          for (int j = sl; j < gr.size; j += kLanesPerRow) {
            const int pos = base + j * w, word = pos >> 5, off = pos & 31;
            const unsigned long long pair = row[word] | (static_cast<unsigned long long>(row[word + 1]) << 32);
            c[gr.begin + j] = __float2half_rn(value_of(static_cast<unsigned>(pair >> off) & mask, shift, scale, gr.type));
          }
        }
      __syncwarp();
    }
    // 2. Xhat = C16 B on tensor cores, the warp's 16 rows.
    warp_gemm<wmma::row_major>(cs + warp * 16 * L.ldx, L.ldx, rpad / 16, bs, L.ldb, 16 * L.ldb, 16, D / 16,
                               fs + warp * 16 * L.ldf, L.ldf);
    __syncwarp();
    // 3. Mean added and RoPE re-applied (pairs), rounded to fp16 into the warp's rows of cs (done with them).
    for (int idx = lane; idx < 16 * D / 2; idx += 32) {
      const int r = warp * 16 + idx / (D / 2), i = min(row0 + r, g.coded - 1);
      const Pair pr = pair_of(idx % (D / 2), g);
      const float* x = fs + r * L.ldf;
      float ya = x[pr.a] + ms[pr.a], yb = x[pr.b] + ms[pr.b];
      if (pr.q >= 0) {
        const long long at = static_cast<long long>(g.first + i) * half_rot + pr.q;
        const float c = g.cos[at], sn = g.sin[at], xa = ya, xb = yb;
        ya = xa * c - xb * sn;
        yb = xa * sn + xb * c;
      }
      cs[r * L.ldx + pr.a] = __float2half_rn(ya);
      cs[r * L.ldx + pr.b] = __float2half_rn(yb);
    }
    __syncwarp();
    // 4. The warp's rows stored, 16 bytes per store.
    for (int idx = lane; idx < 16 * D / 8; idx += 32) {
      const int r = warp * 16 + idx / (D / 8), j = idx % (D / 8) * 8, i = row0 + r;
      if (i < g.coded)
        *reinterpret_cast<uint4*>(cache + ((static_cast<long long>(l) * g.tokens + g.first + i) * g.heads + h) * D + j) =
            *reinterpret_cast<const uint4*>(cs + r * L.ldx + j);
    }
    __syncwarp();
  }
}

Layout layout_of(const CacheGeometry& g, const PerHeadTensor& t) {
  return Layout(g.head_dim, t.rmax, t.max_groups, t.max_row_bytes);
}

template <class F>
bool with_head_dim(int D, F&& f) {
  switch (D) {
    case 32: f(std::integral_constant<int, 32>{}); return true;
    case 64: f(std::integral_constant<int, 64>{}); return true;
    case 128: f(std::integral_constant<int, 128>{}); return true;
    default: return false;
  }
}

// A block per (stream, tile of 64 tokens): enough blocks in flight to hide the loads' latency (v2's first
// form gave each block a stream's 14 tiles in turn: 4.4 ms where 0.2 was the floor, on an H200); each block
// reads its stream's basis again, from L2.
dim3 grid_of(const CacheGeometry& g) {
  const int streams = g.layers * g.heads, tiles = (g.coded + kTileRows - 1) / kTileRows;
  return dim3(std::max(1, tiles), streams);
}

}  // namespace

int per_head_shared_bytes(const CacheGeometry& g, const PerHeadTensor& t) { return layout_of(g, t).total; }

bool per_head_supported(const CacheGeometry& g, const PerHeadTensor& t, int smem_limit) {
  if (!g.per_head || (g.head_dim != 32 && g.head_dim != 64 && g.head_dim != 128)) return false;
  if (g.rope && (g.rotary_dims % 2 != 0 || g.rotary_dims > g.head_dim)) return false;
  return t.rmax > 0 && layout_of(g, t).total <= smem_limit;
}

void configure_per_head(const CacheGeometry& g, const PerHeadTensor& t) {
  const int bytes = layout_of(g, t).total;
  with_head_dim(g.head_dim, [&](auto d) {
    cudaFuncSetAttribute(per_head_encode<decltype(d)::value>, cudaFuncAttributeMaxDynamicSharedMemorySize, bytes);
    cudaFuncSetAttribute(per_head_decode<decltype(d)::value>, cudaFuncAttributeMaxDynamicSharedMemorySize, bytes);
  });
}

void launch_per_head_encode(const __half* cache, const CacheGeometry& g, const PerHeadTensor& t,
                            std::uint8_t* payload, cudaStream_t stream) {
  if (g.coded == 0) return;
  const int bytes = layout_of(g, t).total;
  with_head_dim(g.head_dim, [&](auto d) {
    per_head_encode<decltype(d)::value><<<grid_of(g), kThreads, bytes, stream>>>(cache, g, t, payload);
  });
}

void launch_per_head_decode(const std::uint8_t* payload, const CacheGeometry& g, const PerHeadTensor& t,
                            __half* cache, cudaStream_t stream) {
  if (g.coded == 0) return;
  const int bytes = layout_of(g, t).total;
  with_head_dim(g.head_dim, [&](auto d) {
    per_head_decode<decltype(d)::value><<<grid_of(g), kThreads, bytes, stream>>>(payload, g, t, cache);
  });
}

}  // namespace lrb::kernels::kvtc
