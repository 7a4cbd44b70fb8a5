#pragma once
// Skinny GEMMs with the tokens as the mma's N (decode sizes: T <= 16): out^T [M x T] = A [M x K] B^T, A a
// row-major fp16 factor (rows are M) read from global memory (warp_tile) or staged in shared memory by
// cp.async (warp_tile_shared, and the input / output phases built on it), B the tokens' fp16 rows staged in
// shared memory ([16][ldb], zeros past T). And the grid-level hand-off the fused decode kernels use between
// phases.
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
// A block's shared-memory tile at most this size leaves room for a second block on the SM (two of them fit
// the 227 KiB an SM offers): a waiting phase's blocks can sit beside a running phase's and load meanwhile.
inline constexpr int kCoresidentBytes = 112 * 1024;

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

// ---- Shared-memory staged pieces (flashsvd decode v2): every block copies its whole factor slice into shared
// memory with cp.async at its start, so all the factor bytes of a launch are in flight at once, including
// those of blocks that must wait for an earlier phase (they load while they wait), and the mma reads only
// shared memory.

__device__ __forceinline__ void cp_async16(void* dst, const void* src) {
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16;\n" ::"r"(shared_address(dst)), "l"(src));
}
// Waits for this thread's cp.async copies (commits any open group first).
__device__ __forceinline__ void cp_async_wait_all() { asm volatile("cp.async.wait_all;\n" ::); }
// Closes this thread's open group of cp.async copies; wait_group<N> waits until at most N groups are pending
// (decode v3 issues the input phase's slice as one group and the output phase's rows as the next).
__device__ __forceinline__ void cp_async_commit() { asm volatile("cp.async.commit_group;\n" ::); }
template <int N>
__device__ __forceinline__ void cp_async_wait_group() {
  asm volatile("cp.async.wait_group %0;\n" ::"n"(N));
}

// Block-wide: rows [r0, r0 + n_rows) x columns [c0, c0 + width) of a row-major fp16 [rows x cols] matrix (leading
// dimension ld) into dst [n_rows][ldd], zeros outside the matrix; width a multiple of 8. 16-byte chunks go by
// cp.async where the source is 16-byte aligned (ld and c0 multiples of 8; cudaMalloc'd bases), the rest by
// plain loads. The caller waits (cp_async_wait_all, then __syncthreads) before reading dst.
__device__ __forceinline__ void stage_rows_async(const __half* A, int ld, int rows, int cols, int r0, int c0,
                                                 int n_rows, int width, __half* dst, int ldd) {
  const bool vec = ld % 8 == 0 && c0 % 8 == 0;
  const int chunks = width / 8;
  // (row i, chunk c) of element e advanced by additions: a division a copy costs more issue slots than the
  // copy itself when a thread issues 16-64 of them.
  int i = threadIdx.x / chunks, c = threadIdx.x % chunks;
  const int di = blockDim.x / chunks, dc = blockDim.x % chunks;
  for (; i < n_rows; i += di, c += dc) {
    if (c >= chunks) c -= chunks, ++i;
    if (i >= n_rows) break;
    const int row = r0 + i, col = c0 + 8 * c;
    __half* d = dst + i * ldd + 8 * c;
    const __half* src = A + static_cast<long long>(row) * ld + col;
    if (vec && row < rows && col + 8 <= cols) {
      cp_async16(d, src);
    } else if (row >= rows) {
      *reinterpret_cast<uint4*>(d) = make_uint4(0, 0, 0, 0);  // tokens past T: ldd and 8 c multiples of 8
    } else {
      for (int q = 0; q < 8; ++q) d[q] = col + q < cols ? src[q] : __float2half(0.0f);
    }
  }
}

// One warp: acc[j] += As[16 rows][k0 .. k1) Bs[tokens 8 j ..][k0 .. k1)^T, both staged row-major fp16 (As by
// ldmatrix: lda a multiple of 8; Bs token-major, ldb even); k1 - k0 a multiple of 16.
__device__ __forceinline__ void warp_tile_shared(const __half* As, int lda, const __half* Bs, int ldb, int k0, int k1,
                                                 int n_tiles, float (&acc)[2][4], int lane) {
  const int grp = lane / 4, tig = lane % 4;
  for (int k = k0; k < k1; k += 16) {
    std::uint32_t a[4];
    load_a_16x16(a, As + k, lda, lane);
    for (int j = 0; j < n_tiles; ++j) {
      const __half* bp = Bs + (8 * j + grp) * ldb + k + 2 * tig;
      mma_16816(acc[j], a[0], a[1], a[2], a[3], *reinterpret_cast<const std::uint32_t*>(bp),
                *reinterpret_cast<const std::uint32_t*>(bp + 8));
    }
  }
}

// One warp, general N (the prefill kernels): acc[j] += A[16 rows][0, k1) B[n0 + 8 j .. + 8][0, k1)^T for j < n
// (<= kN): A row-major in shared memory by ldmatrix (lda a multiple of 8), B stored [n][k] row-major in shared
// memory read by 32-bit loads (ldb even); k1 a multiple of 16.
template <int kN>
__device__ __forceinline__ void mma_rows_nk(const __half* As, int lda, const __half* Bs, int ldb, int n0, int n, int k1,
                                            float (&acc)[kN][4], int lane) {
  const int grp = lane / 4, tig = lane % 4;
  for (int k = 0; k < k1; k += 16) {
    std::uint32_t f[4];
    load_a_16x16(f, As + k, lda, lane);
#pragma unroll
    for (int j = 0; j < kN; ++j) {
      if (j >= n) break;
      const __half* bp = Bs + (n0 + 8 * j + grp) * ldb + k + 2 * tig;
      mma_16816(acc[j], f[0], f[1], f[2], f[3], *reinterpret_cast<const std::uint32_t*>(bp),
                *reinterpret_cast<const std::uint32_t*>(bp + 8));
    }
  }
}

// A warp's accumulators into its [16 rows][16 tokens] fp32 slot of `red` (unused n-tiles stored as zeros).
__device__ __forceinline__ void store_partial(const float (&acc)[2][4], float* red, int warp, int lane) {
  float* mine = red + warp * kTileRows * kTokens;
  for (int j = 0; j < 2; ++j)
    for (int q = 0; q < 4; ++q) mine[slot_row(lane, q) * kTokens + slot_token(lane, j, q)] = acc[j][q];
}
// The sum over the `parts` warps of m-tile mt (warps mt * parts .. + parts) of `red` at (row, token).
__device__ __forceinline__ float sum_parts(const float* red, int mt, int parts, int row, int t) {
  float s = 0.0f;
  for (int p = 0; p < parts; ++p) s += red[((mt * parts + p) * kTileRows + row) * kTokens + t];
  return s;
}
inline constexpr int kPartialBytes = 8 * kTileRows * kTokens * 4;  // red for 8 warps


// Stage an fp32 Z^T [rows][ldz] (in L2; ldz >= T) as fp16 Zs [16][rows_pad] (token-major: the next mma's B
// operand; zeros past `rows` and past T). Where ldz is a multiple of 4: float4 loads of four tokens, only the
// groups that hold one of the T live tokens; else one float a load. Eight loads in flight a thread before any
// store: this copy sits on the critical path after the grid-wide wait (v2 staged one float a thread at a time:
// r = 1024 was 64 dependent L2 round trips a block).
__device__ __forceinline__ void stage_transposed(const float* Zt, int rows, int rows_pad, int T, __half* dst, int ldd,
                                                 int ldz = kTokens) {
  constexpr int kInFlight = 8;
  if (ldz % 4 != 0) {
    const int n = rows_pad * kTokens;
    for (int base = threadIdx.x; base < n; base += blockDim.x * kInFlight) {
      float v[kInFlight];
#pragma unroll
      for (int u = 0; u < kInFlight; ++u) {
        const int e = base + u * blockDim.x, t = e / rows_pad, c = e % rows_pad;
        v[u] = e < n && c < rows && t < T ? __ldcg(Zt + c * ldz + t) : 0.0f;
      }
#pragma unroll
      for (int u = 0; u < kInFlight; ++u) {
        const int e = base + u * blockDim.x;
        if (e >= n) break;
        dst[(e / rows_pad) * ldd + e % rows_pad] = __float2half_rn(v[u]);
      }
    }
    return;
  }
  const int groups = (T + 3) / 4, n = rows_pad * 4;
  for (int base = threadIdx.x; base < n; base += blockDim.x * kInFlight) {
    float4 v[kInFlight];
#pragma unroll
    for (int u = 0; u < kInFlight; ++u) {
      const int e = base + u * blockDim.x, c = e / 4, g = e % 4;
      v[u] = e < n && c < rows && g < groups ? __ldcg(reinterpret_cast<const float4*>(Zt + c * ldz + 4 * g))
                                             : make_float4(0.0f, 0.0f, 0.0f, 0.0f);
    }
#pragma unroll
    for (int u = 0; u < kInFlight; ++u) {
      const int e = base + u * blockDim.x, c = e / 4, g = e % 4;
      if (e >= n) break;
      __half* d = dst + 4 * g * ldd + c;
      d[0] = __float2half_rn(v[u].x), d[ldd] = __float2half_rn(v[u].y);
      d[2 * ldd] = __float2half_rn(v[u].z), d[3 * ldd] = __float2half_rn(v[u].w);
    }
  }
}
// Zero an fp32 workspace of `floats` (a multiple of 4, 16-byte aligned) with one block.
__device__ __forceinline__ void zero_workspace(float* w, int floats) {
  for (int e = threadIdx.x; e < floats / 4; e += blockDim.x)
    reinterpret_cast<float4*>(w)[e] = make_float4(0.0f, 0.0f, 0.0f, 0.0f);
}

// The input phase: Z^T [rows][16] += A [rows x cols] X^T, X fp16 [T][cols], fp32 adds into Z^T (L2). Blocks of mt
// m-tiles of A (16 rows each) x a k1-column slice; each m-tile's slice cut into kWarps / mt warp parts.
struct InSplit {
  int mt = 1, k1 = 0, groups = 0, blocks = 0;
  __host__ __device__ int parts() const { return 8 / mt; }
  __host__ __device__ int shared_bytes() const { return (mt * kTileRows + kTokens) * (k1 + 8) * 2 + kPartialBytes; }
};
// The fewest m-tiles a block (the longest slices: the fewest adds into Z^T) whose tile fits `max_bytes`; slices
// enough that the grid covers the SMs once, 128 columns at least.
inline InSplit in_split(int rows, int cols, int sms, int max_bytes) {
  InSplit s;
  const int n_mt = ceil_div(rows, kTileRows);
  for (int mt : {1, 2, 4, 8}) {
    s.mt = mt;
    s.groups = ceil_div(n_mt, mt);
    const int slices = std::max(1, sms / s.groups), step = kTileRows * s.parts();
    s.k1 = std::min(round_up(std::max(ceil_div(cols, slices), 128), step), round_up(cols, step));
    if (s.shared_bytes() <= max_bytes) break;
  }
  // Many rows (few slices, long ones): at 8 m-tiles a block, shorten the slices until the tile fits.
  const int fit = ((max_bytes - kPartialBytes) / ((s.mt * kTileRows + kTokens) * 2) - 8) / kTileRows * kTileRows;
  if (s.shared_bytes() > max_bytes && fit >= kTileRows) s.k1 = fit;
  s.blocks = s.groups * ceil_div(cols, s.k1);
  return s;
}
// One block of 256 threads of the input phase, in two halves: project_in_issue starts the cp.async copies of
// the block's slice of A and of X (not committed: the caller commits and waits), project_in_compute runs once
// they have landed (cp.async wait, then __syncthreads, by the caller). `smem`: InSplit::shared_bytes, 16-byte
// aligned.
__device__ __forceinline__ void project_in_issue(const __half* A, int rows, int cols, const __half* X, int T,
                                                 const InSplit& s, int block, unsigned char* smem) {
  const int ld = s.k1 + 8;
  const int c0 = (block % s.groups) * s.mt * kTileRows, k0 = (block / s.groups) * s.k1;
  auto* tile = reinterpret_cast<__half*>(smem);
  __half* xs = tile + s.mt * kTileRows * ld;
  stage_rows_async(A, cols, rows, cols, c0, k0, s.mt * kTileRows, s.k1, tile, ld);
  stage_rows_async(X, cols, T, cols, 0, k0, kTokens, s.k1, xs, ld);
}
// Z^T [rows][ldz] (ldz >= T) += the block's product, fp32 adds.
__device__ __forceinline__ void project_in_compute(int rows, int T, const InSplit& s, int block, unsigned char* smem,
                                                   float* Zt, int ldz) {
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32, ld = s.k1 + 8, parts = s.parts();
  const int c0 = (block % s.groups) * s.mt * kTileRows;
  auto* tile = reinterpret_cast<__half*>(smem);
  __half* xs = tile + s.mt * kTileRows * ld;
  auto* red = reinterpret_cast<float*>(xs + kTokens * ld);
  const int mt = warp / parts, part = warp % parts, chunk = s.k1 / parts;
  float acc[2][4] = {};
  warp_tile_shared(tile + mt * kTileRows * ld, ld, xs, ld, part * chunk, (part + 1) * chunk, T > 8 ? 2 : 1, acc, lane);
  store_partial(acc, red, warp, lane);
  __syncthreads();
  // Consecutive threads add consecutive (row, token) words of Z^T: one coalesced burst of adds a block.
  for (int e = threadIdx.x; e < s.mt * kTileRows * kTokens; e += blockDim.x) {
    const int row = e / kTokens, t = e % kTokens, c = c0 + row;
    if (c < rows && t < T) atomicAdd(Zt + c * ldz + t, sum_parts(red, row / kTileRows, parts, row % kTileRows, t));
  }
}
// Both halves with a wait between (decode v2: one role a block).
__device__ __forceinline__ void project_in(const __half* A, int rows, int cols, const __half* X, int T,
                                           const InSplit& s, int block, unsigned char* smem, float* Zt) {
  project_in_issue(A, rows, cols, X, T, s, block, smem);
  cp_async_wait_all();
  __syncthreads();
  project_in_compute(rows, T, s, block, smem, Zt, kTokens);
}

// The output phase: Y^T [d_out x T] = US [d_out x r] Z^T, Y fp16 [T][d_out]. Blocks of mt m-tiles of US (16
// output rows each) x the whole rank (rpad = r rounded to 16), each m-tile's rank cut into kWarps / mt warp
// parts. A block loads its US rows (out_prefetch) before it waits for Z^T, then stages Z^T (out_stage) and
// finishes (out_finish).
struct OutSplit {
  int mt = 1, blocks = 0, rpad = 0;
  __host__ __device__ int parts() const { return 8 / mt; }
  __host__ __device__ int ld() const { return rpad + 8; }
  __host__ __device__ int shared_bytes() const { return (mt * kTileRows + kTokens) * (rpad + 8) * 2 + kPartialBytes; }
};
// The fewest m-tiles a block with the grid still covering the SMs once, fewer where the tile would pass
// `max_bytes`.
inline OutSplit out_split(int d_out, int r, int sms, int max_bytes) {
  OutSplit s;
  s.rpad = round_up(r, kTileRows);
  const int n_mt = ceil_div(d_out, kTileRows);
  while (s.mt < 8 && ceil_div(n_mt, s.mt) > sms) s.mt *= 2;
  while (s.mt > 1 && s.shared_bytes() > max_bytes) s.mt /= 2;
  s.blocks = ceil_div(n_mt, s.mt);
  return s;
}
__device__ __forceinline__ void out_prefetch(const __half* US, int d_out, int r, const OutSplit& s, int block,
                                             unsigned char* smem) {
  stage_rows_async(US, r, d_out, r, block * s.mt * kTileRows, 0, s.mt * kTileRows, s.rpad,
                   reinterpret_cast<__half*>(smem), s.ld());
}
__device__ __forceinline__ void out_stage(const float* Zt, int r, int T, const OutSplit& s, unsigned char* smem,
                                          int ldz = kTokens) {
  stage_transposed(Zt, r, s.rpad, T, reinterpret_cast<__half*>(smem) + s.mt * kTileRows * s.ld(), s.ld(), ldz);
}
__device__ __forceinline__ void out_finish(int d_out, int T, const OutSplit& s, int block, unsigned char* smem,
                                           __half* Y) {
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32, ld = s.ld(), parts = s.parts();
  const int o0 = block * s.mt * kTileRows;
  auto* tile = reinterpret_cast<__half*>(smem);
  const __half* zs = tile + s.mt * kTileRows * ld;
  auto* red = reinterpret_cast<float*>(tile + (s.mt * kTileRows + kTokens) * ld);
  cp_async_wait_all();
  __syncthreads();
  const int mt = warp / parts, part = warp % parts, chunk = round_up(ceil_div(s.rpad, parts), kTileRows);
  const int kp0 = min(part * chunk, s.rpad), kp1 = min(kp0 + chunk, s.rpad);
  float acc[2][4] = {};
  warp_tile_shared(tile + mt * kTileRows * ld, ld, zs, ld, kp0, kp1, T > 8 ? 2 : 1, acc, lane);
  store_partial(acc, red, warp, lane);
  __syncthreads();
  // Consecutive threads write consecutive outputs of one token.
  const int rows = s.mt * kTileRows;
  for (int e = threadIdx.x; e < rows * T; e += blockDim.x) {
    const int t = e / rows, row = e % rows, o = o0 + row;
    if (o < d_out)
      Y[static_cast<long long>(t) * d_out + o] = __float2half_rn(sum_parts(red, row / kTileRows, parts, row % kTileRows, t));
  }
}

// Decode v3 (every block in every role, `stride` blocks in all): a block's input items first, first + stride,
// ...; the first one's copies have landed (the caller waited and synchronized), each later one is loaded here
// once the previous one is read.
__device__ __forceinline__ void project_in_items(const __half* A, int rows, int cols, const __half* X, int T,
                                                 const InSplit& s, int first, int stride, unsigned char* smem,
                                                 float* Zt, int ldz) {
  for (int item = first; item < s.blocks; item += stride) {
    if (item != first) {
      __syncthreads();  // the previous item's tile and partials are read
      project_in_issue(A, rows, cols, X, T, s, item, smem);
      cp_async_commit();
      cp_async_wait_group<0>();
      __syncthreads();
    }
    project_in_compute(rows, T, s, item, smem, Zt, ldz);
  }
}
// The same for the output items: the first one's rows were prefetched (out_prefetch) and Z staged (out_stage).
__device__ __forceinline__ void out_items(const __half* US, int d_out, int r, int T, const OutSplit& s, int first,
                                          int stride, unsigned char* smem, __half* Y) {
  for (int item = first; item < s.blocks; item += stride) {
    if (item != first) {
      __syncthreads();  // the previous item's rows and partials are read
      out_prefetch(US, d_out, r, s, item, smem);
    }
    out_finish(d_out, T, s, item, smem, Y);
  }
}

}  // namespace lrb::kernels::token_mma
