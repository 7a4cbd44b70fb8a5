#include "kernels/lowrank_ffn/flashsvd_ffn_prefill.cuh"

#include <algorithm>
#include <cstdint>

#include "kernels/common/device_limits.cuh"
#include "kernels/common/token_mma.cuh"
#include "kernels/lowrank_ffn/silu_gate.cuh"

namespace lrb::kernels {
namespace {

using namespace token_mma;

constexpr int kThreads = 256;
constexpr int kBM = 64;            // tokens a CTA
constexpr int kBF = 32;            // d_ff rows a step
constexpr int kLdv = kBF + 8;      // a stage's Vt_d columns [r_d][32 (+8)]
constexpr int kLdh = kBF + 8;      // h [64 tokens][32 (+8)]

// Shared memory (halfs): Zg [64][ldg], Zu [64][ldu], h [64][ldh], then two stages of
// {US_g rows [32][ldg], US_u rows [32][ldu], Vt_d columns [rd_pad][ldv]}.
struct Split {
  int rg_pad = 0, ru_pad = 0, rd_pad = 0, token_tiles = 0, steps = 0, splits = 1;
  __host__ __device__ int ldg() const { return rg_pad + 8; }
  __host__ __device__ int ldu() const { return ru_pad + 8; }
  __host__ __device__ int stage_halfs() const { return kBF * ldg() + kBF * ldu() + rd_pad * kLdv; }
  __host__ __device__ int resident_halfs() const { return kBM * ldg() + kBM * ldu() + kBM * kLdh; }
  int shared_bytes() const { return 2 * (resident_halfs() + 2 * stage_halfs()); }
};

Split split_of(const FlashsvdFfnPrefillArgs& a, int sms) {
  Split s;
  s.rg_pad = round_up(a.r_g, kTileRows), s.ru_pad = round_up(a.r_u, kTileRows), s.rd_pad = round_up(a.r_d, kTileRows);
  s.token_tiles = ceil_div(a.tokens, kBM);
  s.steps = ceil_div(a.d_ff, kBF);
  // Enough d_ff splits that the grid covers the SMs once; each split's P partial costs T x r_d adds.
  s.splits = std::clamp(sms / std::max(s.token_tiles, 1), 1, std::max(s.steps, 1));
  return s;
}

// One stage: d_ff rows [f0, f0 + 32) of US_g and US_u, the same columns of Vt_d; zeros past d_ff and the ranks.
__device__ __forceinline__ void issue_stage(const FlashsvdFfnPrefillArgs& a, const Split& s, int f0, __half* st) {
  __half* sg = st;
  __half* su = sg + kBF * s.ldg();
  __half* sv = su + kBF * s.ldu();
  stage_rows_async(a.US_g, a.r_g, a.d_ff, a.r_g, f0, 0, kBF, s.rg_pad, sg, s.ldg());
  stage_rows_async(a.US_u, a.r_u, a.d_ff, a.r_u, f0, 0, kBF, s.ru_pad, su, s.ldu());
  stage_rows_async(a.Vt_d, a.d_ff, a.r_d, a.d_ff, 0, f0, s.rd_pad, kBF, sv, kLdv);
}

// kNt: P's n-tiles (8 ranks each) a warp: warps 0-3 own ranks [0, rd_pad / 2), warps 4-7 the rest.
template <int kNt>
__global__ void __launch_bounds__(kThreads, 1) flashsvd_ffn_prefill(FlashsvdFfnPrefillArgs a, Split s) {
  extern __shared__ __align__(16) unsigned char smem[];
  auto* zg = reinterpret_cast<__half*>(smem);
  __half* zu = zg + kBM * s.ldg();
  __half* hs = zu + kBM * s.ldu();
  __half* stages = hs + kBM * kLdh;
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32, grp = lane / 4, tig = lane % 4;
  const int t0 = static_cast<int>(blockIdx.y) * kBM, split = static_cast<int>(blockIdx.x);
  const int step_begin = split * s.steps / s.splits, n = (split + 1) * s.steps / s.splits - step_begin;

  // The token tile's rank inputs (zeros past T and past each rank), then the first two stages.
  stage_rows_async(a.Zg, a.ld_z, a.tokens, a.r_g, t0, 0, kBM, s.rg_pad, zg, s.ldg());
  stage_rows_async(a.Zu, a.ld_z, a.tokens, a.r_u, t0, 0, kBM, s.ru_pad, zu, s.ldu());
  cp_async_commit();
  for (int i = 0; i < 2; ++i) {
    if (i < n) issue_stage(a, s, (step_begin + i) * kBF, stages + i * s.stage_halfs());
    cp_async_commit();
  }

  const int m0 = kTileRows * (warp % 4);                 // the warp's 16 tokens
  const int f_col = kTileRows * (warp / 4);              // g/u: its 16 of the step's 32 d_ff rows
  const int half_rd = s.rd_pad / 2, c0 = (warp / 4) * half_rd, c1 = c0 + half_rd;  // P: its ranks
  float pacc[kNt][4] = {};
  for (int i = 0; i < n; ++i) {
    cp_async_wait_group<1>();  // stage i (the one after it may still be in flight)
    __syncthreads();
    const __half* st = stages + (i % 2) * s.stage_halfs();
    const __half* sg = st;
    const __half* su = sg + kBF * s.ldg();
    const __half* sv = su + kBF * s.ldu();
    // g and u for 16 tokens x 16 d_ff rows: the same accumulator layout, so h is formed in registers. Rows
    // past T or d_ff and ranks past r are zero in shared memory: g = u = 0 there and h = 0.
    float g[2][4] = {}, u[2][4] = {};
    mma_rows_nk<2>(zg + m0 * s.ldg(), s.ldg(), sg, s.ldg(), f_col, 2, s.rg_pad, g, lane);
    mma_rows_nk<2>(zu + m0 * s.ldu(), s.ldu(), su, s.ldu(), f_col, 2, s.ru_pad, u, lane);
#pragma unroll
    for (int j = 0; j < 2; ++j) {
      const int col = f_col + 8 * j + 2 * tig;
      *reinterpret_cast<__half2*>(hs + (m0 + grp) * kLdh + col) =
          __floats2half2_rn(silu_gate(g[j][0], u[j][0]), silu_gate(g[j][1], u[j][1]));
      *reinterpret_cast<__half2*>(hs + (m0 + grp + 8) * kLdh + col) =
          __floats2half2_rn(silu_gate(g[j][2], u[j][2]), silu_gate(g[j][3], u[j][3]));
    }
    __syncthreads();
    // P[16 tokens][the warp's ranks] += h[16 tokens][32] Vt_d[ranks][32]^T.
    mma_rows_nk<kNt>(hs + m0 * kLdh, kLdh, sv, kLdv, c0, (c1 - c0) / 8, kBF, pacc, lane);
    __syncthreads();  // every warp is done with stage i and with h: refill
    if (i + 2 < n) issue_stage(a, s, (step_begin + i + 2) * kBF, stages + (i % 2) * s.stage_halfs());
    cp_async_commit();
  }
  // The split's partial P into P [T][r_d]: one add a (token, rank), tokens < T and ranks < r_d.
#pragma unroll
  for (int j = 0; j < kNt; ++j) {
    const int col = c0 + 8 * j + 2 * tig;
    if (c0 + 8 * j >= c1) break;
    for (int h = 0; h < 2; ++h) {
      const int t = t0 + m0 + grp + 8 * h;
      if (t >= a.tokens) continue;
      float* p = a.P + static_cast<long long>(t) * a.r_d + col;
      if (col < a.r_d) atomicAdd(p, pacc[j][2 * h]);
      if (col + 1 < a.r_d) atomicAdd(p + 1, pacc[j][2 * h + 1]);
    }
  }
}

using Kernel = void (*)(FlashsvdFfnPrefillArgs, Split);
Kernel kernel_for(int rd_pad) {
  const int nt = rd_pad / 16;  // n-tiles of 8 in half the padded rank
  if (nt <= 1) return flashsvd_ffn_prefill<1>;
  if (nt <= 2) return flashsvd_ffn_prefill<2>;
  if (nt <= 4) return flashsvd_ffn_prefill<4>;
  if (nt <= 8) return flashsvd_ffn_prefill<8>;
  return flashsvd_ffn_prefill<16>;
}

__global__ void round_rows(const float* __restrict__ P, int tokens, int r_d, __half* __restrict__ out, int ld_out) {
  const long long total = static_cast<long long>(tokens) * ld_out;
  for (long long e = blockIdx.x * static_cast<long long>(blockDim.x) + threadIdx.x; e < total;
       e += static_cast<long long>(gridDim.x) * blockDim.x) {
    const long long t = e / ld_out;
    const int c = static_cast<int>(e - t * ld_out);
    out[e] = __float2half_rn(c < r_d ? P[t * r_d + c] : 0.0f);
  }
}

}  // namespace

bool flashsvd_ffn_prefill_supported(int r_g, int r_u, int r_d) {
  for (const int r : {r_g, r_u, r_d})
    if (r < 1 || r > kFlashsvdFfnPrefillMaxRank) return false;
  FlashsvdFfnPrefillArgs a;
  a.r_g = r_g, a.r_u = r_u, a.r_d = r_d, a.tokens = 1, a.d_ff = 1;
  return split_of(a, 1).shared_bytes() <= device_shared_limit();
}

void configure_flashsvd_ffn_prefill(const FlashsvdFfnPrefillArgs& a) {
  const Split s = split_of(a, device_sm_count());
  cudaFuncSetAttribute(kernel_for(s.rd_pad), cudaFuncAttributeMaxDynamicSharedMemorySize, s.shared_bytes());
}

void launch_flashsvd_ffn_prefill(const FlashsvdFfnPrefillArgs& a, cudaStream_t stream) {
  if (a.tokens == 0) return;
  const Split s = split_of(a, device_sm_count());
  const dim3 grid(static_cast<unsigned>(s.splits), static_cast<unsigned>(s.token_tiles));
  kernel_for(s.rd_pad)<<<grid, kThreads, s.shared_bytes(), stream>>>(a, s);
}

void launch_round_rows_to_half(const float* P, int tokens, int r_d, __half* out, int ld_out, cudaStream_t stream) {
  const long long total = static_cast<long long>(tokens) * ld_out;
  if (total == 0) return;
  const int blocks = static_cast<int>(std::min<long long>((total + 255) / 256, 4096));
  round_rows<<<blocks, 256, 0, stream>>>(P, tokens, r_d, out, ld_out);
}

}  // namespace lrb::kernels
