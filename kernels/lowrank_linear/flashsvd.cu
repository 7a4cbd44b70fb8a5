#include "kernels/lowrank_linear/flashsvd.cuh"

#include <cuda/atomic>

#include <algorithm>
#include <cstdint>

#include "kernels/common/mma.cuh"

namespace lrb::kernels {
namespace {

constexpr int kThreads = 256;
constexpr int kTileRows = 16;                 // an mma m-tile: rank components (phase 1) or output rows (phase 2)
constexpr int kTilesPerBlock = 4;             // warps w and w + 4 share m-tile w % 4, each half of the K range
constexpr int kBlockRows = kTileRows * kTilesPerBlock;
constexpr int kTok = kFlashsvdDecodeMaxTokens;  // the staged token rows (zeros past T)
constexpr int kBatch = 8;                     // k-steps whose A fragments are loaded before any mma waits

__host__ __device__ constexpr int ceil_div(int a, int b) { return (a + b - 1) / b; }
__host__ __device__ constexpr int round_up(int a, int b) { return ceil_div(a, b) * b; }

// How the grid is cut: phase 1 over (rank tile of 64, d_in slice of k1), phase 2 over 64 output rows.
struct Split {
  int r_tiles, k_slices, k1, p1, p2, rpad;
  int shared_bytes() const {
    const int p1_bytes = kTok * (k1 + 8) * 2;
    const int p2_bytes = kTok * (rpad + 8) * 2 + kTilesPerBlock * kTileRows * kTok * 4;
    return std::max(p1_bytes, p2_bytes);
  }
};

Split split_of(int d_in, int d_out, int rank, int sms) {
  Split s{};
  s.r_tiles = ceil_div(rank, kBlockRows);
  // Enough phase-1 blocks to keep every SM loading (the bytes are Vt's, read once), 256+ columns each.
  const int want = std::max(1, ceil_div(sms, s.r_tiles));
  const int ks = std::clamp(want, 1, std::max(1, d_in / 256));
  s.k1 = round_up(ceil_div(d_in, ks), 32);  // each warp's half a whole number of k-steps of 16
  s.k_slices = ceil_div(d_in, s.k1);
  s.p1 = s.r_tiles * s.k_slices;
  s.p2 = ceil_div(d_out, kBlockRows);
  s.rpad = round_up(rank, 32);
  return s;
}

// Two consecutive halfs of row `row` at column `col` of a row-major [rows x cols] matrix, zeros outside it.
__device__ __forceinline__ std::uint32_t load_pair(const __half* A, int ld, int rows, int cols, int row, int col,
                                                   bool aligned) {
  if (row >= rows || col >= cols) return 0u;
  const __half* p = A + static_cast<long long>(row) * ld + col;
  if (aligned && col + 1 < cols) return __ldg(reinterpret_cast<const unsigned*>(p));
  const __half lo = __ldg(p), hi = col + 1 < cols ? __ldg(p + 1) : __float2half(0.0f);
  return pack_halves(lo, hi);
}

// One warp: acc[n-tile][4] += A[m0 .. m0 + 16, k0 .. k1) (row-major, global) times the staged tokens
// Bs[token][k - kb] (fp16, leading dimension ldb), for n-tiles of 8 tokens (one where T <= 8).
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

__global__ void __launch_bounds__(kThreads) flashsvd_decode(FlashsvdDecodeArgs a, Split s) {
  extern __shared__ __align__(16) unsigned char smem[];
  auto* bs = reinterpret_cast<__half*>(smem);
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32, grp = lane / 4, tig = lane % 4;
  const int tile = warp % kTilesPerBlock, part = warp / kTilesPerBlock;
  const int T = a.tokens, n_tiles = T > 8 ? 2 : 1;
  float acc[2][4] = {};

  if (static_cast<int>(blockIdx.x) < s.p1) {
    // Phase 1: Z^T[r0 .. r0 + 64, :] += Vt[r0 .., k0 .. k0 + k1) X[:, k0 .. k0 + k1)^T.
    const int rt = blockIdx.x % s.r_tiles, ks = blockIdx.x / s.r_tiles;
    const int r0 = rt * kBlockRows, k0 = ks * s.k1, kend = min(k0 + s.k1, a.d_in), ldb = s.k1 + 8;
    // X's slice, fp16 [16][k1] (tokens past T and columns past d_in: zeros).
    const bool vec = a.d_in % 8 == 0;
    for (int e = threadIdx.x; e < kTok * (s.k1 / 8); e += kThreads) {
      const int t = e / (s.k1 / 8), c = (e % (s.k1 / 8)) * 8, k = k0 + c;
      uint4 v = make_uint4(0, 0, 0, 0);
      if (t < T && vec && k < kend) {
        v = __ldg(reinterpret_cast<const uint4*>(a.X + static_cast<long long>(t) * a.d_in + k));
      } else if (t < T) {
        __half h[8];
        for (int q = 0; q < 8; ++q) h[q] = k + q < kend ? a.X[static_cast<long long>(t) * a.d_in + k + q] : __float2half(0.0f);
        v = *reinterpret_cast<const uint4*>(h);
      }
      *reinterpret_cast<uint4*>(bs + t * ldb + c) = v;
    }
    __syncthreads();
    const int half_k = s.k1 / 2, kp0 = k0 + part * half_k, kp1 = min(kp0 + half_k, kend);
    const int m0 = r0 + tile * kTileRows;
    if (m0 < a.rank && kp0 < kp1) warp_tile(a.Vt, a.d_in, a.rank, a.d_in, m0, kp0, kp1, bs, ldb, k0, n_tiles, acc, lane);
    // acc[j]: (component m0 + grp (+8), tokens 8 j + 2 tig, +1) -> Z[token][component] in L2.
    for (int j = 0; j < n_tiles; ++j)
      for (int q = 0; q < 4; ++q) {
        const int c = m0 + grp + (q >= 2 ? 8 : 0), t = 8 * j + 2 * tig + (q & 1);
        if (c < a.rank && t < T) atomicAdd(a.Z + static_cast<long long>(t) * a.rank + c, acc[j][q]);
      }
    __threadfence();
    __syncthreads();
    if (threadIdx.x == 0) cuda::atomic_ref<unsigned, cuda::thread_scope_device>(a.counters[0]).fetch_add(1, cuda::memory_order_release);
    return;
  }

  // Phase 2: wait for every phase-1 block, stage Z (fp16 [16][rpad]), then Y^T[o0 .. o0 + 64, :] = US Z^T.
  if (threadIdx.x == 0) {
    cuda::atomic_ref<unsigned, cuda::thread_scope_device> arrived(a.counters[0]);
    while (arrived.load(cuda::memory_order_acquire) < static_cast<unsigned>(s.p1)) __nanosleep(64);
  }
  __syncthreads();
  const int ldb = s.rpad + 8;
  for (int e = threadIdx.x; e < kTok * s.rpad; e += kThreads) {
    const int t = e / s.rpad, c = e % s.rpad;
    const float z = t < T && c < a.rank ? __ldcg(a.Z + static_cast<long long>(t) * a.rank + c) : 0.0f;
    bs[t * ldb + c] = __float2half_rn(z);
  }
  __shared__ bool last;
  __syncthreads();
  if (threadIdx.x == 0) {
    __threadfence();
    last = atomicAdd(a.counters + 1, 1u) == static_cast<unsigned>(s.p2 - 1);
  }
  __syncthreads();
  if (last) {
    // Every phase-2 block has staged Z: leave the workspace zero for the next launch.
    for (int e = threadIdx.x; e < T * a.rank; e += kThreads) a.Z[e] = 0.0f;
    if (threadIdx.x == 0) a.counters[0] = 0, a.counters[1] = 0;
  }
  const int o_block = (blockIdx.x - s.p1) * kBlockRows, m0 = o_block + tile * kTileRows;
  const int half_r = s.rpad / 2, kp0 = part * half_r, kp1 = min(kp0 + half_r, a.rank);
  if (m0 < a.d_out && kp0 < kp1) warp_tile(a.US, a.rank, a.d_out, a.rank, m0, kp0, kp1, bs, ldb, 0, n_tiles, acc, lane);
  // The two halves of the rank meet in shared memory (after the staged Z).
  float* red = reinterpret_cast<float*>(smem + kTok * ldb * 2);
  float* mine = red + tile * kTileRows * kTok;
  if (part == 1)
    for (int j = 0; j < n_tiles; ++j)
      for (int q = 0; q < 4; ++q) mine[(grp + (q >= 2 ? 8 : 0)) * kTok + 8 * j + 2 * tig + (q & 1)] = acc[j][q];
  __syncthreads();
  if (part == 0)
    for (int j = 0; j < n_tiles; ++j)
      for (int q = 0; q < 4; ++q) {
        const int row = grp + (q >= 2 ? 8 : 0), o = m0 + row, t = 8 * j + 2 * tig + (q & 1);
        if (o < a.d_out && t < T)
          a.Y[static_cast<long long>(t) * a.d_out + o] = __float2half_rn(acc[j][q] + mine[row * kTok + t]);
      }
}

int sm_count() {
  static const int n = [] {
    int device = 0, count = 0;
    cudaGetDevice(&device);
    cudaDeviceGetAttribute(&count, cudaDevAttrMultiProcessorCount, device);
    return count > 0 ? count : 1;
  }();
  return n;
}

int shared_limit() {
  int device = 0, limit = 0;
  cudaGetDevice(&device);
  cudaDeviceGetAttribute(&limit, cudaDevAttrMaxSharedMemoryPerBlockOptin, device);
  return limit;
}

}  // namespace

bool flashsvd_decode_supported(int tokens, int d_in, int d_out, int rank) {
  if (tokens < 1 || tokens > kFlashsvdDecodeMaxTokens || d_in < 1 || d_out < 1 || rank < 1) return false;
  return split_of(d_in, d_out, rank, sm_count()).shared_bytes() <= shared_limit();
}

void configure_flashsvd_decode(int d_in, int d_out, int rank) {
  const int bytes = split_of(d_in, d_out, rank, sm_count()).shared_bytes();
  if (bytes > 48 * 1024) cudaFuncSetAttribute(flashsvd_decode, cudaFuncAttributeMaxDynamicSharedMemorySize, bytes);
}

void launch_flashsvd_decode(const FlashsvdDecodeArgs& args, cudaStream_t stream) {
  if (args.tokens == 0) return;
  const Split s = split_of(args.d_in, args.d_out, args.rank, sm_count());
  flashsvd_decode<<<s.p1 + s.p2, kThreads, s.shared_bytes(), stream>>>(args, s);
}

}  // namespace lrb::kernels
