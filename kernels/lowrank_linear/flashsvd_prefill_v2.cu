// flashsvd prefill v2 (docs/perf/flashsvd.md, "prefill v1 measured" -> v2's plan, items 1 and 2). v1 split
// phase 1 over the rank, so each of a cluster's 8 CTAs streamed the cluster's whole X tile for r / 8 output
// columns through a two-stage pipeline, and phase 2 restarted its pipeline for every output tile: 3.6-12.6x
// two_gemm's time on the H100, latency-bound. v2:
// - phase 1 split over K (d_in): CTA c multiplies X[64 tokens, its d_in / 8 slice] by Vt's matching columns
//   for every rank column, in chunks of 64 or 128 rank columns (the accumulators of one chunk fit the warps'
//   registers); X is read once per cluster instead of 8 times. Each chunk's fp32 partial goes to this CTA's
//   shared memory; after a cluster barrier CTA c sums columns [c nc / 8, (c + 1) nc / 8) of the chunk over the
//   8 peers' partials (distributed shared memory) and writes the fp16 result into every peer's Z;
// - one flattened (chunk, K step) loop with 2-4 cp.async stages (as many as shared memory holds), so the next
//   chunk's tiles load during this chunk's reduction; phase 2 likewise over (output tile, K step), its first
//   stages issued before the last reduction.
// Z [64 x r] is complete in every CTA of the cluster after the last barrier, as in v1; nothing of it reaches
// global memory.
#include <cooperative_groups.h>

#include <algorithm>
#include <cstdint>

#include "kernels/common/device_limits.cuh"
#include "kernels/common/token_mma.cuh"
#include "kernels/lowrank_linear/flashsvd_prefill.cuh"

namespace lrb::kernels {
namespace {

namespace cg = cooperative_groups;
using namespace token_mma;

constexpr int kThreads = 256;
constexpr int kCluster = 8;
constexpr int kBM = 64;       // tokens a cluster
constexpr int kBK = 64;       // K a stage
constexpr int kBN = 128;      // output columns a phase-2 tile
constexpr int kLd = kBK + 8;  // staged rows (halfs): conflict-free 32-bit B loads, 16-byte aligned ldmatrix rows
constexpr int kMaxStages = 4;

struct Split {
  int r_pad = 0;    // the rank rounded up to 64
  int nc = 0;       // phase-1 chunk width (rank columns): 128 where r_pad allows, else 64
  int kc = 0;       // a CTA's share of d_in (a multiple of kBK)
  int n_ct = 0, token_tiles = 0, stages = 2;
  __host__ __device__ int ldz() const { return r_pad + 8; }
  __host__ __device__ int ldp() const { return nc + 4; }  // fp32 partial rows: float2 stores spread over banks
  __host__ __device__ int chunks() const { return r_pad / nc; }
  __host__ __device__ int zfull_halfs() const { return kBM * ldz(); }
  __host__ __device__ int stage_halfs() const { return (kBM + nc > kBN ? kBM + nc : kBN) * kLd; }
  __host__ __device__ int partial_floats() const { return kBM * ldp(); }
  int bytes_for(int n_stages) const { return 2 * (zfull_halfs() + n_stages * stage_halfs()) + 4 * partial_floats(); }
  int shared_bytes() const { return bytes_for(stages); }
};

Split split_of(int tokens, int d_in, int d_out, int rank, int shared_limit) {
  Split s;
  s.r_pad = round_up(std::max(rank, 1), 64);
  s.nc = s.r_pad % 128 == 0 ? 128 : 64;
  s.kc = round_up(ceil_div(std::max(d_in, 1), kCluster), kBK);
  s.n_ct = ceil_div(d_out, kBN);
  s.token_tiles = ceil_div(tokens, kBM);
  s.stages = 2;
  for (int n = kMaxStages; n > 2; --n)
    if (s.bytes_for(n) <= shared_limit) {
      s.stages = n;
      break;
    }
  return s;
}

// kNz: phase 1's n-tiles a warp (warps 0-3 rows, 4-7 the chunk's second half of columns): nc / 16.
template <int kNz, int kNS>
__global__ void __cluster_dims__(kCluster, 1, 1) __launch_bounds__(kThreads, 1)
    flashsvd_prefill_v2(FlashsvdPrefillArgs a, Split s) {
  extern __shared__ __align__(16) unsigned char smem[];
  auto* zfull = reinterpret_cast<__half*>(smem);
  __half* stages = zfull + s.zfull_halfs();
  auto* partial = reinterpret_cast<float*>(stages + kNS * s.stage_halfs());
  cg::cluster_group cluster = cg::this_cluster();
  const int c = static_cast<int>(cluster.block_rank());
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32, grp = lane / 4, tig = lane % 4;
  const int m0 = kTileRows * (warp % 4), wn = warp / 4;
  const int t0 = static_cast<int>(blockIdx.y) * kBM, T = a.tokens;

  // ---- Phase 1 items: (chunk q, K step i) for this CTA's d_in slice [k_lo, k_hi).
  const int k_lo = c * s.kc, k_hi = min(a.d_in, k_lo + s.kc);
  const int ksteps = k_hi > k_lo ? ceil_div(k_hi - k_lo, kBK) : 0;
  const int items1 = s.chunks() * ksteps;
  auto issue1 = [&](int g) {
    __half* st = stages + (g % kNS) * s.stage_halfs();
    const int q = g / ksteps, k0 = k_lo + (g % ksteps) * kBK;
    // The slice ends at k_hi (the next CTA's columns, or the matrix's end): passed as the column count, so
    // staged columns at or past it are zeros; the width is rounded to the mma's 16-wide k-steps.
    const int w = min(kBK, round_up(k_hi - k0, 16));
    stage_rows_async(a.X, a.d_in, T, k_hi, t0, k0, kBM, w, st, kLd);
    stage_rows_async(a.Vt, a.d_in, a.rank, k_hi, q * s.nc, k0, s.nc, w, st + kBM * kLd, kLd);
  };
  for (int g = 0; g < kNS - 1; ++g) {
    if (g < items1) issue1(g);
    cp_async_commit();
  }
  // Phase 2 items: (output tile c + 8 u, K step i over r_pad).
  const int ks2 = s.r_pad / kBK;
  const int tiles2 = s.n_ct > c ? ceil_div(s.n_ct - c, kCluster) : 0;
  const int items2 = tiles2 * ks2;
  auto issue2 = [&](int h) {
    const int n0 = (c + kCluster * (h / ks2)) * kBN;
    stage_rows_async(a.US, a.rank, a.d_out, a.rank, n0, (h % ks2) * kBK, kBN, kBK,
                     stages + (h % kNS) * s.stage_halfs(), kLd);
  };

  const int cs = s.nc / kCluster;  // chunk columns a CTA reduces: 8 or 16
  float acc[kNz][4] = {};
  int g = 0;
  for (int q = 0; q < s.chunks(); ++q) {
    for (int i = 0; i < ksteps; ++i, ++g) {
      cp_async_wait_group<kNS - 2>();
      __syncthreads();
      const __half* xs = stages + (g % kNS) * s.stage_halfs();
      // A slice's last step may be narrower than kBK: only the columns issue1 staged (zeros past k_hi).
      const int w = min(kBK, round_up(k_hi - (k_lo + i * kBK), 16));
      mma_rows_nk<kNz>(xs + m0 * kLd, kLd, xs + kBM * kLd, kLd, wn * 8 * kNz, kNz, w, acc, lane);
      __syncthreads();
      if (g + kNS - 1 < items1) issue1(g + kNS - 1);
      cp_async_commit();
    }
    if (q == s.chunks() - 1) {  // phase 2's first tiles load during the last reduction
      cp_async_wait_group<0>();
      __syncthreads();
      for (int h = 0; h < kNS - 1; ++h) {
        if (h < items2) issue2(h);
        cp_async_commit();
      }
    }
    cluster.sync();  // every peer has finished reading the previous chunk's partial
#pragma unroll
    for (int j = 0; j < kNz; ++j) {
      const int col = wn * 8 * kNz + 8 * j + 2 * tig;
      *reinterpret_cast<float2*>(partial + (m0 + grp) * s.ldp() + col) = make_float2(acc[j][0], acc[j][1]);
      *reinterpret_cast<float2*>(partial + (m0 + grp + 8) * s.ldp() + col) = make_float2(acc[j][2], acc[j][3]);
      acc[j][0] = acc[j][1] = acc[j][2] = acc[j][3] = 0.0f;
    }
    cluster.sync();  // every partial of chunk q is written
    // Reduce-scatter, then all-gather: CTA c sums its cs columns over the 8 partials and pushes the fp16 sums
    // into every peer's Z (and its own).
    for (int e = threadIdx.x; e < kBM * cs / 2; e += kThreads) {
      const int row = e / (cs / 2), col = c * cs + 2 * (e % (cs / 2));
      float2 sum = make_float2(0.0f, 0.0f);
#pragma unroll
      for (int p = 0; p < kCluster; ++p) {
        const float2 v = *reinterpret_cast<const float2*>(cluster.map_shared_rank(partial, p) + row * s.ldp() + col);
        sum.x += v.x, sum.y += v.y;
      }
      const __half2 h = __floats2half2_rn(sum.x, sum.y);
      const int zcol = q * s.nc + col;
#pragma unroll
      for (int p = 0; p < kCluster; ++p)
        *reinterpret_cast<__half2*>(cluster.map_shared_rank(zfull, p) + row * s.ldz() + zcol) = h;
    }
  }
  cluster.sync();  // Z is complete in every CTA (and no peer reads this CTA's partial any more)

  // ---- Phase 2: Y[t0 .., tile] = Z US[tile]^T, K = r_pad, over the flattened (tile, K step) items.
  const bool pairs = a.d_out % 2 == 0;
  float y[8][4] = {};
  for (int h = 0; h < items2; ++h) {
    cp_async_wait_group<kNS - 2>();
    __syncthreads();
    const int i = h % ks2;
    const __half* us = stages + (h % kNS) * s.stage_halfs();
    mma_rows_nk<8>(zfull + m0 * s.ldz() + i * kBK, s.ldz(), us, kLd, wn * 64, 8, kBK, y, lane);
    __syncthreads();
    if (h + kNS - 1 < items2) issue2(h + kNS - 1);
    cp_async_commit();
    if (i != ks2 - 1) continue;
    const int n0 = (c + kCluster * (h / ks2)) * kBN;
#pragma unroll
    for (int j = 0; j < 8; ++j) {
      const int col = n0 + wn * 64 + 8 * j + 2 * tig;
      for (int hh = 0; hh < 2; ++hh) {
        const int t = t0 + m0 + grp + 8 * hh;
        if (t < T && col < a.d_out) {
          __half* out = a.Y + static_cast<long long>(t) * a.d_out + col;
          if (pairs) {
            *reinterpret_cast<__half2*>(out) = __floats2half2_rn(y[j][2 * hh], y[j][2 * hh + 1]);
          } else {
            out[0] = __float2half_rn(y[j][2 * hh]);
            if (col + 1 < a.d_out) out[1] = __float2half_rn(y[j][2 * hh + 1]);
          }
        }
        y[j][2 * hh] = y[j][2 * hh + 1] = 0.0f;
      }
    }
  }
}

using Kernel = void (*)(FlashsvdPrefillArgs, Split);
template <int kNz>
Kernel with_stages(int n) {
  if (n >= 4) return flashsvd_prefill_v2<kNz, 4>;
  if (n == 3) return flashsvd_prefill_v2<kNz, 3>;
  return flashsvd_prefill_v2<kNz, 2>;
}
Kernel kernel_for(const Split& s) { return s.nc == 128 ? with_stages<8>(s.stages) : with_stages<4>(s.stages); }

}  // namespace

bool flashsvd_prefill_v2_supported(int d_in, int d_out, int rank) {
  if (d_in < 1 || d_out < 1 || rank < 1 || rank > kFlashsvdPrefillMaxRank) return false;
  const int limit = device_shared_limit();
  return split_of(1, d_in, d_out, rank, limit).shared_bytes() <= limit;
}

void configure_flashsvd_prefill_v2(int d_in, int d_out, int rank) {
  const Split s = split_of(1, d_in, d_out, rank, device_shared_limit());
  cudaFuncSetAttribute(kernel_for(s), cudaFuncAttributeMaxDynamicSharedMemorySize, s.shared_bytes());
}

void launch_flashsvd_prefill_v2(const FlashsvdPrefillArgs& a, cudaStream_t stream) {
  if (a.tokens == 0) return;
  const Split s = split_of(a.tokens, a.d_in, a.d_out, a.rank, device_shared_limit());
  kernel_for(s)<<<dim3(kCluster, static_cast<unsigned>(s.token_tiles)), kThreads, s.shared_bytes(), stream>>>(a, s);
}

}  // namespace lrb::kernels
