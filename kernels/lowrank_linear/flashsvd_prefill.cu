#include "kernels/lowrank_linear/flashsvd_prefill.cuh"

#include <cooperative_groups.h>

#include <algorithm>
#include <cstdint>

#include "kernels/common/device_limits.cuh"
#include "kernels/common/token_mma.cuh"

namespace lrb::kernels {
namespace {

namespace cg = cooperative_groups;
using namespace token_mma;

constexpr int kThreads = 256;
constexpr int kCluster = 8;   // CTAs sharing a token tile's Z (the portable cluster size)
constexpr int kBM = 64;       // tokens a cluster
constexpr int kBK = 64;       // K a stage (d_in in phase 1, the rank in phase 2)
constexpr int kBN = 128;      // output columns a phase-2 tile
constexpr int kLd = kBK + 8;  // staged tiles' row length (halfs): conflict-free 32-bit B loads, aligned ldmatrix rows

// Shared memory (halfs): Z [64][r_pad + 8] (the whole intermediate, gathered), this CTA's slice [64][rs + 8]
// (what its peers read), then two pipeline stages: phase 1 {X [64][kLd], Vt rows [rs][kLd]}, phase 2
// {US rows [128][kLd]}.
struct Split {
  int r_pad = 0, rs = 0, n_ct = 0, token_tiles = 0;
  __host__ __device__ int ldz() const { return r_pad + 8; }
  __host__ __device__ int lds() const { return rs + 8; }
  __host__ __device__ int zfull_halfs() const { return kBM * ldz(); }
  __host__ __device__ int zslice_halfs() const { return kBM * lds(); }
  __host__ __device__ int stage_halfs() const { return (kBM + rs > kBN ? kBM + rs : kBN) * kLd; }
  int shared_bytes() const { return 2 * (zfull_halfs() + zslice_halfs() + 2 * stage_halfs()); }
};

Split split_of(int tokens, int d_out, int rank) {
  Split s;
  s.r_pad = round_up(std::max(rank, 1), 8 * kCluster);  // every slice a whole number of 8-wide n-tiles
  s.rs = s.r_pad / kCluster;
  s.n_ct = ceil_div(d_out, kBN);
  s.token_tiles = ceil_div(tokens, kBM);
  return s;
}

// kNz: phase 1's n-tiles (8 rank columns each) a warp: warps 0-3 the first half of the slice, 4-7 the rest.
template <int kNz>
__global__ void __cluster_dims__(kCluster, 1, 1) __launch_bounds__(kThreads, 1)
    flashsvd_prefill(FlashsvdPrefillArgs a, Split s) {
  extern __shared__ __align__(16) unsigned char smem[];
  auto* zfull = reinterpret_cast<__half*>(smem);
  __half* zslice = zfull + s.zfull_halfs();
  __half* stages = zslice + s.zslice_halfs();
  cg::cluster_group cluster = cg::this_cluster();
  const int c = static_cast<int>(cluster.block_rank());
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32, grp = lane / 4, tig = lane % 4;
  const int m0 = kTileRows * (warp % 4), wn = warp / 4;
  const int t0 = static_cast<int>(blockIdx.y) * kBM, T = a.tokens;

  // ---- Phase 1: Z[t0 .., c rs ..] = X[t0 .., :] Vt[c rs .., :]^T, K = d_in.
  const int nz = s.rs / 8, half = (nz + 1) / 2, j0 = wn * half, j1 = min(nz, j0 + half);
  const int ksteps = ceil_div(a.d_in, kBK);
  auto issue1 = [&](int i, __half* st) {
    stage_rows_async(a.X, a.d_in, T, a.d_in, t0, i * kBK, kBM, kBK, st, kLd);
    stage_rows_async(a.Vt, a.d_in, a.rank, a.d_in, c * s.rs, i * kBK, s.rs, kBK, st + kBM * kLd, kLd);
  };
  for (int i = 0; i < 2; ++i) {
    if (i < ksteps) issue1(i, stages + i * s.stage_halfs());
    cp_async_commit();
  }
  float acc[kNz][4] = {};
  for (int i = 0; i < ksteps; ++i) {
    cp_async_wait_group<1>();
    __syncthreads();
    const __half* xs = stages + (i % 2) * s.stage_halfs();
    const __half* vs = xs + kBM * kLd;
    mma_rows_nk<kNz>(xs + m0 * kLd, kLd, vs, kLd, 8 * j0, j1 - j0, kBK, acc, lane);
    __syncthreads();
    if (i + 2 < ksteps) issue1(i + 2, stages + (i % 2) * s.stage_halfs());
    cp_async_commit();
  }
#pragma unroll
  for (int j = 0; j < kNz; ++j) {
    if (j0 + j >= j1) break;
    const int col = 8 * (j0 + j) + 2 * tig;
    *reinterpret_cast<__half2*>(zslice + (m0 + grp) * s.lds() + col) = __floats2half2_rn(acc[j][0], acc[j][1]);
    *reinterpret_cast<__half2*>(zslice + (m0 + grp + 8) * s.lds() + col) = __floats2half2_rn(acc[j][2], acc[j][3]);
  }

  // ---- Exchange: every CTA's slice into every CTA's Z, through distributed shared memory.
  cluster.sync();
  const int chunks_per_row = s.rs / 8, per_peer = kBM * chunks_per_row;
  for (int e = threadIdx.x; e < kCluster * per_peer; e += blockDim.x) {
    const int p = e / per_peer, rem = e % per_peer, row = rem / chunks_per_row, ch = rem % chunks_per_row;
    const __half* src = cluster.map_shared_rank(zslice, p) + row * s.lds() + 8 * ch;
    *reinterpret_cast<uint4*>(zfull + row * s.ldz() + p * s.rs + 8 * ch) = *reinterpret_cast<const uint4*>(src);
  }
  cluster.sync();  // every peer has read this CTA's slice; Z is complete here

  // ---- Phase 2: Y[t0 .., tile] = Z US[tile]^T for the column tiles c, c + 8, ..., K = r_pad.
  const int ksteps2 = s.r_pad / kBK;
  const bool pairs = a.d_out % 2 == 0;
  for (int ct = c; ct < s.n_ct; ct += kCluster) {
    const int n0 = ct * kBN;
    __syncthreads();  // the previous tile's stages are read
    for (int i = 0; i < 2; ++i) {
      if (i < ksteps2)
        stage_rows_async(a.US, a.rank, a.d_out, a.rank, n0, i * kBK, kBN, kBK, stages + i * s.stage_halfs(), kLd);
      cp_async_commit();
    }
    float y[8][4] = {};
    for (int i = 0; i < ksteps2; ++i) {
      cp_async_wait_group<1>();
      __syncthreads();
      const __half* us = stages + (i % 2) * s.stage_halfs();
      mma_rows_nk<8>(zfull + m0 * s.ldz() + i * kBK, s.ldz(), us, kLd, wn * 64, 8, kBK, y, lane);
      __syncthreads();
      if (i + 2 < ksteps2)
        stage_rows_async(a.US, a.rank, a.d_out, a.rank, n0, (i + 2) * kBK, kBN, kBK, stages + (i % 2) * s.stage_halfs(),
                         kLd);
      cp_async_commit();
    }
#pragma unroll
    for (int j = 0; j < 8; ++j) {
      const int col = n0 + wn * 64 + 8 * j + 2 * tig;
      for (int h = 0; h < 2; ++h) {
        const int t = t0 + m0 + grp + 8 * h;
        if (t >= T || col >= a.d_out) continue;
        __half* out = a.Y + static_cast<long long>(t) * a.d_out + col;
        if (pairs) {
          *reinterpret_cast<__half2*>(out) = __floats2half2_rn(y[j][2 * h], y[j][2 * h + 1]);  // d_out even: col + 1 < d_out
        } else {
          out[0] = __float2half_rn(y[j][2 * h]);
          if (col + 1 < a.d_out) out[1] = __float2half_rn(y[j][2 * h + 1]);
        }
      }
    }
  }
}

using Kernel = void (*)(FlashsvdPrefillArgs, Split);
Kernel kernel_for(const Split& s) {
  const int half = (s.rs / 8 + 1) / 2;
  if (half <= 1) return flashsvd_prefill<1>;
  if (half <= 2) return flashsvd_prefill<2>;
  if (half <= 4) return flashsvd_prefill<4>;
  return flashsvd_prefill<8>;
}

}  // namespace

bool flashsvd_prefill_supported(int d_in, int d_out, int rank, FlashsvdPrefillKernel kernel) {
  if (kernel == FlashsvdPrefillKernel::v2) return flashsvd_prefill_v2_supported(d_in, d_out, rank);
  if (d_in < 1 || d_out < 1 || rank < 1 || rank > kFlashsvdPrefillMaxRank) return false;
  return split_of(1, d_out, rank).shared_bytes() <= device_shared_limit();
}

void configure_flashsvd_prefill(int d_in, int d_out, int rank, FlashsvdPrefillKernel kernel) {
  if (kernel == FlashsvdPrefillKernel::v2) return configure_flashsvd_prefill_v2(d_in, d_out, rank);
  const Split s = split_of(1, d_out, rank);
  cudaFuncSetAttribute(kernel_for(s), cudaFuncAttributeMaxDynamicSharedMemorySize, s.shared_bytes());
}

void launch_flashsvd_prefill(const FlashsvdPrefillArgs& a, cudaStream_t stream) {
  if (a.kernel == FlashsvdPrefillKernel::v2) return launch_flashsvd_prefill_v2(a, stream);
  if (a.tokens == 0) return;
  const Split s = split_of(a.tokens, a.d_out, a.rank);
  kernel_for(s)<<<dim3(kCluster, static_cast<unsigned>(s.token_tiles)), kThreads, s.shared_bytes(), stream>>>(a, s);
}

}  // namespace lrb::kernels
