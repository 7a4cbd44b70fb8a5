#include "kernels/adapter_projection/s2lc.cuh"

#include <cooperative_groups.h>

#include <cstdint>
#include <stdexcept>
#include <string>

#include "kernels/common/mma.cuh"

namespace lrb::kernels {
namespace {

namespace cg = cooperative_groups;

constexpr int kThreads = 256;
constexpr int kMaxOutputs = 2048;  // tokens x R of one chunk (T and its partials live in shared memory)
constexpr int kMaxTokens = 64;     // tokens per chunk
constexpr int kXPad = 8;           // X rows in shared memory are padded: two tokens of a warp in different banks
constexpr std::size_t kSmemBudget = 48 * 1024;
constexpr int kCodebook = 24;      // 16 + 8 fp16 centroids per adapter

__host__ __device__ constexpr int chunk_tokens(int R) {
  return (kMaxOutputs / R) < kMaxTokens ? (kMaxOutputs / R) : kMaxTokens;
}

// The kernel's carving, in order: X tile (tb rounded up to 16 rows of tile + pad), V tile ((tile + pad) x R),
// partial and reduced T, codebooks, token indices.
constexpr std::size_t smem_bytes(int R, int tb, int tile) {
  return sizeof(__half) * (static_cast<std::size_t>((tb + 15) / 16 * 16) * (tile + kXPad) +
                           static_cast<std::size_t>(tile + kXPad) * R) +
         sizeof(float) * (2 * static_cast<std::size_t>(tb) * R + static_cast<std::size_t>(tb) * kCodebook) +
         sizeof(int) * static_cast<std::size_t>(tb);
}
static_assert(smem_bytes(8, chunk_tokens(8), 128) <= kSmemBudget &&
                  smem_bytes(16, chunk_tokens(16), 128) <= kSmemBudget &&
                  smem_bytes(32, chunk_tokens(32), 128) <= kSmemBudget &&
                  smem_bytes(64, chunk_tokens(64), 128) <= kSmemBudget,
              "a 128-column tile must fit the default 48 KiB of shared memory");

// d_in columns per CTA of a cluster (a multiple of 8, so 16-byte staging loads stay aligned).
__host__ __device__ constexpr int slice_of(int d_in) { return ((d_in + kS2lcCluster - 1) / kS2lcCluster + 7) / 8 * 8; }

// The widest tile (a multiple of 8, at least 128 or the slice) that fits the budget: the whole slice where
// it fits, so the partial T needs one round of loads instead of one per tile (v4).
int tile_columns(int R, int tb, int max_d_in) {
  const int slice = slice_of(max_d_in);
  int tile = slice;
  while (tile > 128 && smem_bytes(R, tb, tile) > kSmemBudget) tile -= 8;
  return tile < 128 ? (slice < 128 ? slice : 128) : tile;
}

// One row (R elements) of U_k, decoded to fp32. The raw bytes are read through the read-only path before
// any arithmetic so that the loads of a thread's rows can be in flight together.
template <int R, int L>
struct RowCode {
  static_assert(R % 8 == 0, "R must be a multiple of 8");
  // u8x2: R + R bytes; packed: R/2 + 3R/8 bytes; fp16: 2R bytes. Stored as 32-bit words.
  static constexpr int kWords = L == 0 ? R / 2 : (L == 1 ? (R / 8 + (3 * R / 8 + 3) / 4) : R / 2);
  std::uint32_t w[kWords];

  __device__ void load(const unsigned char* __restrict__ code, int d_out, int row) {
    const std::size_t n = static_cast<std::size_t>(d_out) * R;
    if constexpr (L == 0) {  // i1 row then i2 row, R bytes each, R % 8 == 0 -> 8-byte aligned
      const uint2* a = reinterpret_cast<const uint2*>(code + static_cast<std::size_t>(row) * R);
      const uint2* b = reinterpret_cast<const uint2*>(code + n + static_cast<std::size_t>(row) * R);
#pragma unroll
      for (int i = 0; i < R / 8; ++i) {
        const uint2 x = __ldg(a + i), y = __ldg(b + i);
        w[2 * i] = x.x;
        w[2 * i + 1] = x.y;
        w[R / 4 + 2 * i] = y.x;
        w[R / 4 + 2 * i + 1] = y.y;
      }
    } else if constexpr (L == 1) {  // nibble plane (R/2 bytes per row, 4-aligned), 3-bit plane (3R/8 bytes)
      const std::uint32_t* a = reinterpret_cast<const std::uint32_t*>(code + static_cast<std::size_t>(row) * (R / 2));
#pragma unroll
      for (int i = 0; i < R / 8; ++i) w[i] = __ldg(a + i);
      const unsigned char* b = code + n / 2 + static_cast<std::size_t>(row) * (3 * R / 8);
      constexpr int kBytes3 = 3 * R / 8;
#pragma unroll
      for (int i = 0; i < (kBytes3 + 3) / 4; ++i) w[R / 8 + i] = 0;
      if constexpr (R % 16 == 0) {  // 3R/8 bytes = 3R/16 aligned 16-bit words
        const unsigned short* h = reinterpret_cast<const unsigned short*>(b);
#pragma unroll
        for (int i = 0; i < kBytes3 / 2; ++i)
          w[R / 8 + i / 2] |= static_cast<std::uint32_t>(__ldg(h + i)) << (16 * (i % 2));
      } else {
#pragma unroll
        for (int i = 0; i < kBytes3; ++i) w[R / 8 + i / 4] |= static_cast<std::uint32_t>(__ldg(b + i)) << (8 * (i % 4));
      }
    } else {  // fp16 row: 2R bytes, 16-byte aligned for R % 8 == 0
      const uint4* a = reinterpret_cast<const uint4*>(code + static_cast<std::size_t>(row) * R * 2);
#pragma unroll
      for (int i = 0; i < R / 8; ++i) {
        const uint4 x = __ldg(a + i);
        w[4 * i] = x.x;
        w[4 * i + 1] = x.y;
        w[4 * i + 2] = x.z;
        w[4 * i + 3] = x.w;
      }
    }
  }

  __device__ unsigned byte_at(int b) const { return (w[b / 4] >> (8 * (b % 4))) & 0xFFu; }

  // Element e of the row: float(c1[i1]) + float(c2[i2]) (codebooks as fp32 in shared memory), or the fp16 value.
  __device__ float value(int e, const float* cb) const {
    if constexpr (L == 0) {
      return cb[byte_at(e)] + cb[16 + byte_at(R + e)];
    } else if constexpr (L == 1) {
      const unsigned i1 = (w[e / 8] >> (4 * (e % 8))) & 0xFu;
      const int g = e / 8, j = e % 8;
      const unsigned word = byte_at(4 * (R / 8) + 3 * g) | (byte_at(4 * (R / 8) + 3 * g + 1) << 8) |
                            (byte_at(4 * (R / 8) + 3 * g + 2) << 16);
      const unsigned i2 = (word >> (3 * j)) & 0x7u;
      return cb[i1] + cb[16 + i2];
    } else {
      const unsigned bits = (w[e / 2] >> (16 * (e % 2))) & 0xFFFFu;
      return __half2float(__ushort_as_half(static_cast<unsigned short>(bits)));
    }
  }
};

// Occupancy target per instantiation, chosen so that none spills registers: spills are local-memory writes,
// and with a thousand CTAs they reach HBM (v2 measured 3-24 MB of them). ptxas needs 81+ registers for the
// fp16 layout at R = 8, hence its 2 CTAs/SM.
template <int R, int L>
constexpr int kMinBlocks = (R <= 16 && !(R == 8 && L == 2)) ? 3 : (R <= 32 ? 2 : 1);

// The partial T's tensor-core tiles: mma_16816 and pack_halves (kernels/common/mma.cuh).

// Stages the X rows of the chunk's tokens and the V rows of one tile [i0, i0 + w) of this CTA's d_in slice
// in shared memory, zero-padded to w16 columns and tb_rows rows for the mma tiles.
template <int R>
__device__ __forceinline__ void stage_tile(const S2lcProjectionArgs& a, const int* tok, __half* xs, __half* vs, int tb,
                                           int tb_rows, int xstride, int i0, int w, int w16, bool vec) {
  if (vec) {
    const int w8 = w / 8;
#pragma unroll 4
    for (int e = threadIdx.x; e < tb * w8; e += kThreads) {
      const int p = e / w8, c = 8 * (e % w8);
      *reinterpret_cast<uint4*>(xs + p * xstride + c) =
          __ldg(reinterpret_cast<const uint4*>(a.X + static_cast<std::size_t>(tok[p]) * a.d_in + i0 + c));
    }
    const uint4* vsrc = reinterpret_cast<const uint4*>(a.V + static_cast<std::size_t>(i0) * R);
#pragma unroll 4
    for (int e = threadIdx.x; e < w * R / 8; e += kThreads) reinterpret_cast<uint4*>(vs)[e] = __ldg(vsrc + e);
  } else {
    for (int e = threadIdx.x; e < tb * w; e += kThreads) {
      const int p = e / w, ii = e % w;
      xs[p * xstride + ii] = a.X[static_cast<std::size_t>(tok[p]) * a.d_in + i0 + ii];
    }
    for (int e = threadIdx.x; e < w * R; e += kThreads) vs[e] = a.V[static_cast<std::size_t>(i0) * R + e];
  }
  // Zero the k padding (and the token rows past tb: their products land in rows that are never read).
  for (int e = threadIdx.x; e < tb_rows * (w16 - w); e += kThreads)
    xs[(e / (w16 - w)) * xstride + w + e % (w16 - w)] = __float2half(0.0f);
  for (int e = threadIdx.x; e < (w16 - w) * R; e += kThreads) vs[w * R + e] = __float2half(0.0f);
  for (int e = threadIdx.x; e < (tb_rows - tb) * w; e += kThreads) xs[(tb + e / w) * xstride + e % w] = __float2half(0.0f);
}

// part += X_tile V_tile for the staged tile. Work items (m tile, n tile, k step), tile-major; each warp takes a
// contiguous range and accumulates a tile in registers until the tile changes, then adds it to `part` with
// shared-memory atomics.
template <int R>
__device__ __forceinline__ void partial_t_on_tensor_cores(const __half* xs, const __half* vs, float* part, int tb,
                                                          int tb_rows, int xstride, int w16, int warp, int lane) {
  const int m_tiles = tb_rows / 16, n_tiles = R / 8, k_steps = w16 / 16;
  const int items = m_tiles * n_tiles * k_steps;
  const int per_warp = (items + kThreads / 32 - 1) / (kThreads / 32);
  const int it_begin = warp * per_warp, it_end = min(items, it_begin + per_warp);
  const int grp = lane / 4, tig = lane % 4;
  float c[4] = {0.0f, 0.0f, 0.0f, 0.0f};
  for (int it = it_begin; it < it_end; ++it) {
    const int tile_id = it / k_steps, ks = it % k_steps;
    const int m0 = (tile_id / n_tiles) * 16, n0 = (tile_id % n_tiles) * 8, k0 = ks * 16;
    const __half* xa = xs + (m0 + grp) * xstride + k0 + 2 * tig;
    const std::uint32_t a0 = *reinterpret_cast<const std::uint32_t*>(xa);
    const std::uint32_t a1 = *reinterpret_cast<const std::uint32_t*>(xa + 8 * xstride);
    const std::uint32_t a2 = *reinterpret_cast<const std::uint32_t*>(xa + 8);
    const std::uint32_t a3 = *reinterpret_cast<const std::uint32_t*>(xa + 8 * xstride + 8);
    const __half* vb = vs + (k0 + 2 * tig) * R + n0 + grp;
    const std::uint32_t b0 = pack_halves(vb[0], vb[R]);
    const std::uint32_t b1 = pack_halves(vb[8 * R], vb[9 * R]);
    mma_16816(c, a0, a1, a2, a3, b0, b1);
    if (it + 1 == it_end || (it + 1) / k_steps != tile_id) {  // flush this tile's partial sums
      const int r0 = m0 + grp, col = n0 + 2 * tig;
      if (r0 < tb) {
        atomicAdd(&part[r0 * R + col], c[0]);
        atomicAdd(&part[r0 * R + col + 1], c[1]);
      }
      if (r0 + 8 < tb) {
        atomicAdd(&part[(r0 + 8) * R + col], c[2]);
        atomicAdd(&part[(r0 + 8) * R + col + 1], c[3]);
      }
      c[0] = c[1] = c[2] = c[3] = 0.0f;
    }
  }
}

template <int R, int L>
__global__ void __cluster_dims__(kS2lcCluster, 1, 1) __launch_bounds__(kThreads, kMinBlocks<R, L>)
    s2lc_forward(const S2lcProjectionArgs* __restrict__ all, S2lcGroups groups, int tb_max, int tile, bool accumulate) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ < 900
  __trap();  // built for an architecture without thread-block clusters (the method refuses before launching)
#else
  cg::cluster_group cluster = cg::this_cluster();
  const S2lcProjectionArgs a = all[blockIdx.y];
  const int rank = static_cast<int>(cluster.block_rank());
  const int lane = threadIdx.x % 32, warp = threadIdx.x / 32;

  // Shared memory, carved for tb_max tokens per chunk (X rows rounded up to the 16 of an mma tile).
  extern __shared__ __align__(16) unsigned char smem_raw[];
  const int xstride = tile + kXPad;
  const int tb_rows = (tb_max + 15) / 16 * 16;
  __half* xs = reinterpret_cast<__half*>(smem_raw);          // tb_rows x xstride: X rows of this slice tile
  __half* vs = xs + tb_rows * xstride;                        // (tile + pad) x R: V rows of this slice tile
  float* part = reinterpret_cast<float*>(vs + xstride * R);   // tb_max x R partial T of this CTA's d_in slice
  float* T = part + tb_max * R;                               // tb_max x R, reduced over the cluster
  float* cbs = T + tb_max * R;                                // tb_max groups x 24 codebook entries, fp32
  int* tok = reinterpret_cast<int*>(cbs + tb_max * kCodebook);  // token of each chunk position

  // d_in slices start on multiples of 8 so the staging loads are 16-byte vectors when d_in % 8 == 0.
  const bool vec = a.d_in % 8 == 0;
  const int slice = slice_of(a.d_in);
  const int i_begin = min(a.d_in, rank * slice), i_end = min(a.d_in, i_begin + slice);
  const int rows = (a.d_out + kS2lcCluster - 1) / kS2lcCluster;
  const int j_begin = min(a.d_out, rank * rows), j_end = min(a.d_out, j_begin + rows);
  // This thread's rows: j_begin + threadIdx.x + m * kThreads for m < n_j, all below j_end.
  const int n_j = j_begin + static_cast<int>(threadIdx.x) < j_end
                      ? (j_end - j_begin - static_cast<int>(threadIdx.x) + kThreads - 1) / kThreads
                      : 0;
  auto row_of = [&](int it) { return j_begin + static_cast<int>(threadIdx.x) + (it % n_j) * kThreads; };

  for (int p0 = 0; p0 < groups.batch; p0 += tb_max) {
    const int tb = min(tb_max, groups.batch - p0);
    // The groups of this chunk. Their codebooks and this thread's first rows of codes are fetched before
    // the partial T, so those loads overlap it (they do not depend on T).
    int g_first = 0;
    while (g_first < groups.n_groups && groups.offset[g_first + 1] <= p0) ++g_first;
    int g_last = g_first;
    while (g_last < groups.n_groups && groups.offset[g_last] < p0 + tb) ++g_last;
    const int n_items = (g_last - g_first) * n_j;  // (group, row) pairs of this thread
    auto load_item = [&](int it, RowCode<R, L>& c) {
      const int g = g_first + it / n_j;
      // A group with no adapter (kNoAdapter) loads adapter 0's codes, valid memory it then ignores (step 3).
      c.load(a.codes + static_cast<std::size_t>(max(groups.adapter[g], 0)) * a.code_stride, a.d_out, row_of(it));
    };
    RowCode<R, L> cur, nxt;
    if (n_items > 0) load_item(0, cur);
    if (L != 2)
      for (int e = threadIdx.x; e < (g_last - g_first) * kCodebook; e += kThreads) {
        const int g = g_first + e / kCodebook;
        cbs[e] = __half2float(a.codebooks[static_cast<std::size_t>(max(groups.adapter[g], 0)) * kCodebook + e % kCodebook]);
      }
    for (int p = threadIdx.x; p < tb; p += kThreads) tok[p] = groups.order[p0 + p];
    for (int o = threadIdx.x; o < tb * R; o += kThreads) part[o] = 0.0f;
    __syncthreads();

    // 1. Partial T over this CTA's slice of d_in: tiles staged in shared memory, multiplied on tensor cores.
    for (int i0 = i_begin; i0 < i_end; i0 += tile) {
      const int w = min(tile, i_end - i0);  // a multiple of 8 on the vector path
      const int w16 = (w + 15) / 16 * 16;   // the mma's k steps; columns [w, w16) are zero
      stage_tile<R>(a, tok, xs, vs, tb, tb_rows, xstride, i0, w, w16, vec);
      __syncthreads();
      partial_t_on_tensor_cores<R>(xs, vs, part, tb, tb_rows, xstride, w16, warp, lane);
      __syncthreads();
    }
    // 2. T = sum of the cluster's partials, read through distributed shared memory.
    cluster.sync();
    for (int o = threadIdx.x; o < tb * R; o += kThreads) {
      float t = 0.0f;
#pragma unroll
      for (int r = 0; r < kS2lcCluster; ++r) t += cluster.map_shared_rank(part, r)[o];
      T[o] = t;
    }
    cluster.sync();  // T ready; every CTA is done reading the others' partials

    // 3. This thread's rows of U_k for each group, decoded in registers, applied to the group's tokens; the
    // codes of the next (group, row) item are loaded while this one is computed.
    for (int it = 0; it < n_items; ++it) {
      if (it + 1 < n_items) load_item(it + 1, nxt);
      const int g = g_first + it / n_j, j = row_of(it);
      const float* cb = cbs + (g - g_first) * kCodebook;
      const int q_begin = max(groups.offset[g], p0), q_end = min(groups.offset[g + 1], p0 + tb);
      // Tokens with no adapter: a zero row of U (their Y is the base, rewritten, or 0 in adapter-only mode).
      const bool none = groups.adapter[g] < 0;
      float u[R];
#pragma unroll
      for (int e = 0; e < R; ++e) u[e] = none ? 0.0f : cur.value(e, cb);
      for (int q = q_begin; q < q_end; ++q) {
        const float* t = T + (q - p0) * R;
        __half* y_out = a.Y + static_cast<std::size_t>(tok[q - p0]) * a.d_out + j;
        float y = 0.0f;
#pragma unroll
        for (int e = 0; e < R; ++e) y += u[e] * t[e];
        if (accumulate) y += __half2float(*y_out);
        *y_out = __float2half(y);
      }
      cur = nxt;
    }
    __syncthreads();  // the next chunk overwrites tok, xs, vs, part, T and the codebooks
  }
#endif
}

// Calls f(kernel, R) with the instantiation for R and a layout (the one place that lists them).
template <int R, class F>
void with_layout(S2lcLayout layout, F&& f) {
  switch (layout) {
    case S2lcLayout::u8x2: return f(s2lc_forward<R, 0>, R);
    case S2lcLayout::packed: return f(s2lc_forward<R, 1>, R);
    case S2lcLayout::fp16: return f(s2lc_forward<R, 2>, R);
  }
}
// The instantiated ranks are kS2lcRanks (s2lc.cuh), the same list can_run and the tests read.
template <class F, int... Rs>
void with_rank(int R, S2lcLayout layout, F&& f, std::integer_sequence<int, Rs...>) {
  const bool found = ((R == Rs ? (with_layout<Rs>(layout, f), true) : false) || ...);
  if (!found) throw std::invalid_argument("s2lc kernel: R=" + std::to_string(R) + " is not instantiated");
}
template <class F>
void with_kernel(int R, S2lcLayout layout, F&& f) {
  with_rank(R, layout, f, S2lcRanks{});
}

using Kernel = void (*)(const S2lcProjectionArgs*, S2lcGroups, int, int, bool);

}  // namespace

std::size_t s2lc_local_memory_bytes(int R, S2lcLayout layout) {
  cudaFuncAttributes attr{};
  cudaError_t e = cudaSuccess;
  with_kernel(R, layout, [&](Kernel kernel, int) { e = cudaFuncGetAttributes(&attr, kernel); });
  if (e != cudaSuccess) throw std::runtime_error(std::string("cudaFuncGetAttributes: ") + cudaGetErrorString(e));
  return attr.localSizeBytes;
}

void launch_s2lc(const S2lcProjectionArgs* args, int n_projections, const S2lcGroups& groups, int R,
                 S2lcLayout layout, int max_d_in, bool accumulate, cudaStream_t stream) {
  if (n_projections <= 0 || groups.batch <= 0) return;
  const int tb_max = groups.batch < chunk_tokens(R) ? groups.batch : chunk_tokens(R);
  const int tile = tile_columns(R, tb_max, max_d_in);
  const dim3 grid(kS2lcCluster, static_cast<unsigned>(n_projections));
  with_kernel(R, layout, [&](Kernel kernel, int) {
    kernel<<<grid, kThreads, smem_bytes(R, tb_max, tile), stream>>>(args, groups, tb_max, tile, accumulate);
  });
}

}  // namespace lrb::kernels
