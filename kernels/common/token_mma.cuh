#pragma once
// Skinny GEMMs with the tokens as the mma's N (decode sizes: T <= 16): out^T [M x T] = A [M x K] B^T, A a
// row-major fp16 matrix in global memory (a factor: rows are M), B the tokens' fp16 rows staged in shared
// memory ([16][ldb], zeros past T). And the grid-level hand-off the fused decode kernels use between phases.
// Shared by kernels/lowrank_linear/flashsvd.cu and kernels/lowrank_ffn/flashsvd_ffn.cu.
#include <cuda/atomic>
#include <cuda_fp16.h>

#include <algorithm>
#include <cstdint>

#include "kernels/common/mma.cuh"

namespace lrb::kernels::token_mma {

inline constexpr int kTileRows = 16;  // an mma m-tile
inline constexpr int kTokens = 16;    // staged token rows (two n-tiles of 8)
inline constexpr int kBatch = 8;      // k-steps whose A fragments are loaded before any mma waits

__host__ __device__ constexpr int ceil_div(int a, int b) { return (a + b - 1) / b; }
__host__ __device__ constexpr int round_up(int a, int b) { return ceil_div(a, b) * b; }

// Two consecutive halfs of row `row` at column `col` of a row-major [rows x cols] matrix, zeros outside it.
__device__ __forceinline__ std::uint32_t load_pair(const __half* A, int ld, int rows, int cols, int row, int col,
                                                   bool aligned) {
  if (row >= rows || col >= cols) return 0u;
  const __half* p = A + static_cast<long long>(row) * ld + col;
  if (aligned && col + 1 < cols) return __ldg(reinterpret_cast<const unsigned*>(p));
  const __half lo = __ldg(p), hi = col + 1 < cols ? __ldg(p + 1) : __float2half(0.0f);
  return pack_halves(lo, hi);
}

// One warp: acc[n-tile][4] += A[m0 .. m0 + 16, k0 .. k1) (row-major, global, [rows x cols], leading dimension
// lda) times the staged tokens Bs[token][k - kb] (fp16, leading dimension ldb, even), for n-tiles of 8 tokens.
// acc[j]: (row m0 + group (+8 for slots 2, 3), tokens 8 j + 2 tig, +1). k0 - kb must be even.
__device__ __forceinline__ void warp_tile(const __half* A, int lda, int rows, int cols, int m0, int k0, int k1,
                                          const __half* Bs, int ldb, int kb, int n_tiles, float (&acc)[2][4],
                                          int lane) {
  const int grp = lane / 4, tig = lane % 4;
  const bool aligned = lda % 2 == 0;
  for (int kk = k0; kk < k1; kk += 16 * kBatch) {
    std::uint32_t a[kBatch][4];
#pragma unroll
    for (int b = 0; b < kBatch; ++b) {
      const int k = kk + 16 * b + 2 * tig;
      if (kk + 16 * b >= k1) {
        a[b][0] = a[b][1] = a[b][2] = a[b][3] = 0u;
        continue;
      }
      a[b][0] = load_pair(A, lda, rows, cols, m0 + grp, k, aligned);
      a[b][1] = load_pair(A, lda, rows, cols, m0 + grp + 8, k, aligned);
      a[b][2] = load_pair(A, lda, rows, cols, m0 + grp, k + 8, aligned);
      a[b][3] = load_pair(A, lda, rows, cols, m0 + grp + 8, k + 8, aligned);
    }
#pragma unroll
    for (int b = 0; b < kBatch; ++b) {
      if (kk + 16 * b >= k1) break;
      const int kl = kk + 16 * b - kb + 2 * tig;
      for (int j = 0; j < n_tiles; ++j) {
        const __half* bp = Bs + (8 * j + grp) * ldb + kl;
        const std::uint32_t b0 = *reinterpret_cast<const std::uint32_t*>(bp);
        const std::uint32_t b1 = *reinterpret_cast<const std::uint32_t*>(bp + 8);
        mma_16816(acc[j], a[b][0], a[b][1], a[b][2], a[b][3], b0, b1);
      }
    }
  }
}

// The accumulator slot q of n-tile j: its row offset in the m-tile and its token.
__device__ __forceinline__ int slot_row(int lane, int q) { return lane / 4 + (q >= 2 ? 8 : 0); }
__device__ __forceinline__ int slot_token(int lane, int j, int q) { return 8 * j + 2 * (lane % 4) + (q & 1); }

// A producer block's end: every thread's global adds fenced, then one arrival.
__device__ __forceinline__ void arrive(unsigned* counter) {
  __threadfence();
  __syncthreads();
  if (threadIdx.x == 0)
    cuda::atomic_ref<unsigned, cuda::thread_scope_device>(*counter).fetch_add(1, cuda::memory_order_release);
}
// A consumer block's start: wait until `count` producers have arrived. Producers have the lower block
// indices, so they were dispatched first and this wait never holds a slot one of them needs.
__device__ __forceinline__ void wait_for(unsigned* counter, unsigned count) {
  if (threadIdx.x == 0) {
    cuda::atomic_ref<unsigned, cuda::thread_scope_device> arrived(*counter);
    while (arrived.load(cuda::memory_order_acquire) < count) __nanosleep(64);
  }
  __syncthreads();
}
// After a consumer block has staged what it reads: whether it is the last of `count` to do so (then it may
// reset the workspace for the next launch). Call from every thread.
__device__ __forceinline__ bool last_to_stage(unsigned* counter, unsigned count) {
  __shared__ bool last;
  __syncthreads();
  if (threadIdx.x == 0) {
    __threadfence();
    last = atomicAdd(counter, 1u) == count - 1;
  }
  __syncthreads();
  return last;
}

// Stage rows [0, 16) x cols [0, cols_pad) of an fp32 [T][cols] matrix in L2 (rows ld_src apart) as fp16
// (zeros past T or cols).
__device__ __forceinline__ void stage_fp32(const float* src, int ld_src, int T, int cols, __half* dst, int ldd,
                                           int cols_pad) {
  for (int e = threadIdx.x; e < kTokens * cols_pad; e += blockDim.x) {
    const int t = e / cols_pad, c = e % cols_pad;
    const float z = t < T && c < cols ? __ldcg(src + static_cast<long long>(t) * ld_src + c) : 0.0f;
    dst[t * ldd + c] = __float2half_rn(z);
  }
}

// Stage columns [k0, k0 + width) of the fp16 [T][cols] tokens X as [16][width] (zeros past T or cols); width a
// multiple of 8.
__device__ __forceinline__ void stage_tokens(const __half* X, int T, int cols, int k0, int width, __half* dst,
                                             int ldd) {
  const bool vec = cols % 8 == 0 && k0 % 8 == 0;
  const int kend = min(k0 + width, cols);
  for (int e = threadIdx.x; e < kTokens * (width / 8); e += blockDim.x) {
    const int t = e / (width / 8), c = (e % (width / 8)) * 8, k = k0 + c;
    uint4 v = make_uint4(0, 0, 0, 0);
    if (t < T && vec && k < kend) {
      v = __ldg(reinterpret_cast<const uint4*>(X + static_cast<long long>(t) * cols + k));
    } else if (t < T) {
      __half h[8];
      for (int q = 0; q < 8; ++q) h[q] = k + q < kend ? X[static_cast<long long>(t) * cols + k + q] : __float2half(0.0f);
      v = *reinterpret_cast<const uint4*>(h);
    }
    *reinterpret_cast<uint4*>(dst + t * ldd + c) = v;
  }
}

// The fused kernels' first phase cut: blocks over (64 rows of A, a slice of k1 of its columns), enough slices
// that the grid covers every SM once (the bytes are A's, read once), 256+ columns a slice, k1 a multiple of 32
// (each of two warps' halves a whole number of k-steps).
struct InSplit {
  int r_tiles = 0, k1 = 0, blocks = 0;
  int shared_bytes() const { return kTokens * (k1 + 8) * 2; }
};
inline InSplit in_split(int rows, int cols, int sms) {
  InSplit s;
  s.r_tiles = ceil_div(rows, 4 * kTileRows);
  const int ks = std::clamp(std::max(1, ceil_div(sms, s.r_tiles)), 1, std::max(1, cols / 256));
  s.k1 = round_up(ceil_div(cols, ks), 32);
  s.blocks = s.r_tiles * ceil_div(cols, s.k1);
  return s;
}

// The first phase, one block of 256 threads: Z^T[r0 .. r0 + 64, :] += A[r0 .., k0 .. k0 + k1) X[:, k0 ..)^T with
// A row-major [rows x cols], X fp16 [T][cols]; fp32 adds into Z [T][rows] (in L2). Warps w and w + 4 share
// m-tile w % 4, each half of the slice. `bs`: shared memory of in_split's size.
__device__ __forceinline__ void project_in(const __half* A, int rows, int cols, const __half* X, int T,
                                           const InSplit& s, int block, __half* bs, float* Z) {
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32, tile = warp % 4, part = warp / 4;
  const int n_tiles = T > 8 ? 2 : 1, ldb = s.k1 + 8;
  const int r0 = (block % s.r_tiles) * 4 * kTileRows, k0 = (block / s.r_tiles) * s.k1;
  const int kend = min(k0 + s.k1, cols);
  stage_tokens(X, T, cols, k0, s.k1, bs, ldb);
  __syncthreads();
  const int kp0 = k0 + part * (s.k1 / 2), kp1 = min(kp0 + s.k1 / 2, kend), m0 = r0 + tile * kTileRows;
  float acc[2][4] = {};
  if (m0 < rows && kp0 < kp1) warp_tile(A, cols, rows, cols, m0, kp0, kp1, bs, ldb, k0, n_tiles, acc, lane);
  for (int j = 0; j < n_tiles; ++j)
    for (int q = 0; q < 4; ++q) {
      const int c = m0 + slot_row(lane, q), t = slot_token(lane, j, q);
      if (c < rows && t < T) atomicAdd(Z + static_cast<long long>(t) * rows + c, acc[j][q]);
    }
}

// The fused kernels' last phase, one block of 256 threads: Y^T[o0 .. o0 + 64, :] = US[o0 .., :] Zs^T with US
// row-major [d_out x r] in global memory and Zs the staged fp16 [16][ldz] (rpad columns, zeros past r and T);
// warps w and w + 4 share m-tile w % 4, each half of the rank, and meet in `red` (fp32 [4][16][16], shared).
// Y: fp16 [T][d_out].
__device__ __forceinline__ void project_out(const __half* US, int d_out, int r, int rpad, const __half* Zs, int ldz,
                                            int T, int o0, float* red, __half* Y) {
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32, tile = warp % 4, part = warp / 4;
  const int n_tiles = T > 8 ? 2 : 1, m0 = o0 + tile * kTileRows;
  const int kp0 = part * (rpad / 2), kp1 = min(kp0 + rpad / 2, r);
  float acc[2][4] = {};
  if (m0 < d_out && kp0 < kp1) warp_tile(US, r, d_out, r, m0, kp0, kp1, Zs, ldz, 0, n_tiles, acc, lane);
  float* mine = red + tile * kTileRows * kTokens;
  if (part == 1)
    for (int j = 0; j < n_tiles; ++j)
      for (int q = 0; q < 4; ++q) mine[slot_row(lane, q) * kTokens + slot_token(lane, j, q)] = acc[j][q];
  __syncthreads();
  if (part == 0)
    for (int j = 0; j < n_tiles; ++j)
      for (int q = 0; q < 4; ++q) {
        const int row = slot_row(lane, q), o = m0 + row, t = slot_token(lane, j, q);
        if (o < d_out && t < T) Y[static_cast<long long>(t) * d_out + o] = __float2half_rn(acc[j][q] + mine[row * kTokens + t]);
      }
}
inline constexpr int kProjectOutRows = 4 * kTileRows;
inline constexpr int kProjectOutReduceBytes = 4 * kTileRows * kTokens * 4;

}  // namespace lrb::kernels::token_mma
