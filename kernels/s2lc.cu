#include "kernels/s2lc.cuh"

#include <cooperative_groups.h>

#include <cstdint>
#include <stdexcept>
#include <string>

namespace lrb::kernels {
namespace {

namespace cg = cooperative_groups;

constexpr int kThreads = 256;
constexpr int kMaxOutputs = 2048;  // tokens x R of one chunk (T and its partials live in shared memory)
constexpr int kMaxTokens = 64;     // tokens per chunk
constexpr int kXPad = 8;           // X rows in shared memory are padded: two tokens of a warp in different banks
constexpr std::size_t kSmemBudget = 48 * 1024;
constexpr int kSlots = kMaxOutputs / kThreads;
constexpr int kCodebook = 24;      // 16 + 8 fp16 centroids per adapter

__host__ __device__ constexpr int chunk_tokens(int R) {
  return (kMaxOutputs / R) < kMaxTokens ? (kMaxOutputs / R) : kMaxTokens;
}

// X tile (tb x (tile + pad)), V tile (tile x R), partial and reduced T, codebooks, token indices: the
// kernel's carving, in that order.
constexpr std::size_t smem_bytes(int R, int tb, int tile) {
  return sizeof(__half) * (static_cast<std::size_t>(tb) * (tile + kXPad) + static_cast<std::size_t>(tile) * R) +
         sizeof(float) * (2 * static_cast<std::size_t>(tb) * R + static_cast<std::size_t>(tb) * kCodebook) +
         sizeof(int) * static_cast<std::size_t>(tb);
}
static_assert(smem_bytes(8, chunk_tokens(8), 128) <= kSmemBudget && smem_bytes(16, chunk_tokens(16), 128) <= kSmemBudget &&
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

// Occupancy target and rows decoded per thread at once, chosen so that no instantiation spills registers:
// spills are local-memory writes, and with a thousand CTAs they reach HBM (v2 measured 3-24 MB of them).
template <int R>
constexpr int kMinBlocks = R <= 32 ? 2 : 1;
template <int R>
constexpr int kRows = R <= 16 ? 2 : 1;

template <int R, int L>
__global__ void __cluster_dims__(kS2lcCluster, 1, 1) __launch_bounds__(kThreads, kMinBlocks<R>)
    s2lc_forward(const S2lcProjectionArgs* __restrict__ all, S2lcGroups groups, int tb_max, int tile, bool accumulate) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ < 900
  __trap();  // built for an architecture without thread-block clusters (the method refuses before launching)
#else
  cg::cluster_group cluster = cg::this_cluster();
  const S2lcProjectionArgs a = all[blockIdx.y];
  const int rank = static_cast<int>(cluster.block_rank());

  // Shared memory, carved for tb_max = min(batch, chunk_tokens(R)) tokens per chunk.
  extern __shared__ __align__(16) unsigned char smem_raw[];
  const int xstride = tile + kXPad;
  __half* xs = reinterpret_cast<__half*>(smem_raw);          // tb_max x xstride: X rows of this slice tile
  __half* vs = xs + tb_max * xstride;                         // tile x R: V rows of this slice tile
  float* part = reinterpret_cast<float*>(vs + tile * R);      // tb_max x R partial T of this CTA's d_in slice
  float* T = part + tb_max * R;                               // tb_max x R, reduced over the cluster
  float* cbs = T + tb_max * R;                                // tb_max groups x 24 codebook entries, fp32
  int* tok = reinterpret_cast<int*>(cbs + tb_max * kCodebook);  // token of each chunk position

  // d_in slices start on multiples of 8 so the staging loads are 16-byte vectors when d_in % 8 == 0.
  const bool vec = a.d_in % 8 == 0;
  const int slice = slice_of(a.d_in);
  const int i_begin = min(a.d_in, rank * slice), i_end = min(a.d_in, i_begin + slice);
  const int rows = (a.d_out + kS2lcCluster - 1) / kS2lcCluster;
  const int j_begin = min(a.d_out, rank * rows), j_end = min(a.d_out, j_begin + rows);

  for (int p0 = 0; p0 < groups.batch; p0 += tb_max) {
    const int tb = min(tb_max, groups.batch - p0);
    for (int p = threadIdx.x; p < tb; p += kThreads) tok[p] = groups.order[p0 + p];
    __syncthreads();
    // 1. Partial T over this CTA's slice of d_in, in tiles of kTile columns staged in shared memory.
    float acc[kSlots];
#pragma unroll
    for (int s = 0; s < kSlots; ++s) acc[s] = 0.0f;
    for (int i0 = i_begin; i0 < i_end; i0 += tile) {
      const int w = min(tile, i_end - i0);  // a multiple of 8 on the vector path
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
      __syncthreads();
#pragma unroll
      for (int s = 0; s < kSlots; ++s) {
        const int o = threadIdx.x + s * kThreads;
        if (o < tb * R) {
          const int p = o / R, r = o % R;
          const __half* x = xs + p * xstride;
          float sum = 0.0f;
#pragma unroll 8
          for (int ii = 0; ii < w; ++ii) sum += __half2float(x[ii]) * __half2float(vs[ii * R + r]);
          acc[s] += sum;
        }
      }
      __syncthreads();
    }
#pragma unroll
    for (int s = 0; s < kSlots; ++s) {
      const int o = threadIdx.x + s * kThreads;
      if (o < tb * R) part[o] = acc[s];
    }
    // 2. T = sum of the cluster's partials, read through distributed shared memory.
    cluster.sync();
    for (int o = threadIdx.x; o < tb * R; o += kThreads) {
      float t = 0.0f;
#pragma unroll
      for (int c = 0; c < kS2lcCluster; ++c) t += cluster.map_shared_rank(part, c)[o];
      T[o] = t;
    }
    // The groups of this chunk and their codebooks (fp32).
    int g_first = 0;
    while (g_first < groups.n_groups && groups.offset[g_first] + groups.count[g_first] <= p0) ++g_first;
    int g_last = g_first;
    while (g_last < groups.n_groups && groups.offset[g_last] < p0 + tb) ++g_last;
    if (L != 2)
      for (int e = threadIdx.x; e < (g_last - g_first) * kCodebook; e += kThreads) {
        const int g = g_first + e / kCodebook;
        cbs[e] = __half2float(a.codebooks[static_cast<std::size_t>(groups.adapter[g]) * kCodebook + e % kCodebook]);
      }
    cluster.sync();  // T and codebooks ready; every CTA is done reading the others' partials

    // 3. This CTA's rows of U_k for each group, decoded in registers, applied to the group's tokens.
    for (int g = g_first; g < g_last; ++g) {
      const unsigned char* code = a.codes + static_cast<std::size_t>(groups.adapter[g]) * a.code_stride;
      const float* cb = cbs + (g - g_first) * kCodebook;
      const int q_begin = max(groups.offset[g], p0), q_end = min(groups.offset[g] + groups.count[g], p0 + tb);
      constexpr int N = kRows<R>;
      for (int j0 = j_begin + threadIdx.x; j0 < j_end; j0 += N * kThreads) {
        // Issue the loads of all N rows before decoding any (they are independent).
        RowCode<R, L> c[N];
#pragma unroll
        for (int n = 0; n < N; ++n)
          if (j0 + n * kThreads < j_end) c[n].load(code, a.d_out, j0 + n * kThreads);
        float u[N][R];
#pragma unroll
        for (int n = 0; n < N; ++n)
#pragma unroll
          for (int e = 0; e < R; ++e) u[n][e] = j0 + n * kThreads < j_end ? c[n].value(e, cb) : 0.0f;
        for (int q = q_begin; q < q_end; ++q) {
          const float* t = T + (q - p0) * R;
          __half* yrow = a.Y + static_cast<std::size_t>(tok[q - p0]) * a.d_out;
#pragma unroll
          for (int n = 0; n < N; ++n) {
            const int j = j0 + n * kThreads;
            if (j >= j_end) break;
            float y = 0.0f;
#pragma unroll
            for (int e = 0; e < R; ++e) y += u[n][e] * t[e];
            if (accumulate) y += __half2float(yrow[j]);
            yrow[j] = __float2half(y);
          }
        }
      }
    }
    __syncthreads();  // the next chunk overwrites tok, xs, vs, T and the codebooks
  }
#endif
}

template <int R, int L>
void launch_typed(const S2lcProjectionArgs* args, int n, const S2lcGroups& g, int max_d_in, bool accumulate,
                  cudaStream_t stream) {
  const int tb_max = g.batch < chunk_tokens(R) ? g.batch : chunk_tokens(R);
  const int tile = tile_columns(R, tb_max, max_d_in);
  const std::size_t smem = smem_bytes(R, tb_max, tile);
  const dim3 grid(kS2lcCluster, static_cast<unsigned>(n));
  s2lc_forward<R, L><<<grid, kThreads, smem, stream>>>(args, g, tb_max, tile, accumulate);
}

template <int R>
void launch_layout(S2lcLayout layout, const S2lcProjectionArgs* args, int n, const S2lcGroups& g, int max_d_in,
                   bool accumulate, cudaStream_t stream) {
  switch (layout) {
    case S2lcLayout::u8x2: return launch_typed<R, 0>(args, n, g, max_d_in, accumulate, stream);
    case S2lcLayout::packed: return launch_typed<R, 1>(args, n, g, max_d_in, accumulate, stream);
    case S2lcLayout::fp16: return launch_typed<R, 2>(args, n, g, max_d_in, accumulate, stream);
  }
}

}  // namespace

std::size_t s2lc_code_bytes(S2lcLayout layout, int d_out, int R) {
  const std::size_t n = static_cast<std::size_t>(d_out) * R;
  switch (layout) {
    case S2lcLayout::u8x2: return 2 * n;
    case S2lcLayout::packed: return n / 2 + 3 * n / 8;
    case S2lcLayout::fp16: return 2 * n;
  }
  return 0;
}

bool s2lc_supported_rank(int R) { return R == 8 || R == 16 || R == 32 || R == 64; }

namespace {
template <int R>
std::size_t local_bytes(S2lcLayout layout) {
  cudaFuncAttributes attr{};
  cudaError_t e = cudaSuccess;
  switch (layout) {
    case S2lcLayout::u8x2: e = cudaFuncGetAttributes(&attr, s2lc_forward<R, 0>); break;
    case S2lcLayout::packed: e = cudaFuncGetAttributes(&attr, s2lc_forward<R, 1>); break;
    case S2lcLayout::fp16: e = cudaFuncGetAttributes(&attr, s2lc_forward<R, 2>); break;
  }
  if (e != cudaSuccess) throw std::runtime_error(std::string("cudaFuncGetAttributes: ") + cudaGetErrorString(e));
  return attr.localSizeBytes;
}
}  // namespace

std::size_t s2lc_local_memory_bytes(int R, S2lcLayout layout) {
  switch (R) {
    case 8: return local_bytes<8>(layout);
    case 16: return local_bytes<16>(layout);
    case 32: return local_bytes<32>(layout);
    case 64: return local_bytes<64>(layout);
    default: throw std::invalid_argument("s2lc_local_memory_bytes: R=" + std::to_string(R) + " not instantiated");
  }
}

void launch_s2lc(const S2lcProjectionArgs* args, int n_projections, const S2lcGroups& groups, int R,
                 S2lcLayout layout, int max_d_in, bool accumulate, cudaStream_t stream) {
  if (n_projections <= 0 || groups.batch <= 0) return;
  switch (R) {
    case 8: return launch_layout<8>(layout, args, n_projections, groups, max_d_in, accumulate, stream);
    case 16: return launch_layout<16>(layout, args, n_projections, groups, max_d_in, accumulate, stream);
    case 32: return launch_layout<32>(layout, args, n_projections, groups, max_d_in, accumulate, stream);
    case 64: return launch_layout<64>(layout, args, n_projections, groups, max_d_in, accumulate, stream);
    default: throw std::invalid_argument("launch_s2lc: R=" + std::to_string(R) + " not instantiated (8, 16, 32, 64)");
  }
}

}  // namespace lrb::kernels
