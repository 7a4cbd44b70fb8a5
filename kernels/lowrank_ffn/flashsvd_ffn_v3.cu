#include "kernels/lowrank_ffn/flashsvd_ffn_v3.cuh"

#include <algorithm>
#include <cstdint>

#include "kernels/common/cooperative_launch.cuh"
#include "kernels/common/device_limits.cuh"
#include "kernels/common/token_mma.cuh"
#include "kernels/lowrank_ffn/silu_gate.cuh"

namespace lrb::kernels::ffn_v3 {
namespace {

using namespace token_mma;

constexpr int kThreads = 256, kWarps = kThreads / 32;
constexpr int kLdh = kTileRows + 8;   // h staged [16 tokens][16 d_ff rows (+8)]
constexpr int kLdv = kTileRows + 8;   // a stage's Vt_d columns [r_d rows][16 (+8)]
constexpr int kMaxPMt = 8;            // P^T m-tiles a warp keeps in registers: r_d <= 8 x 8 x 16
constexpr int kMaxSlots = 7;          // ring stages (cp.async groups pending at most: slots + 1)
constexpr int kRoleBytes = 48 * 1024; // the A and the C tile each at most this (more items where they would pass it)

__host__ __device__ constexpr int align16(int bytes) { return (bytes + 15) / 16 * 16; }

// Shared memory: [A tile, later Zg/Zu/h/partials staged for phase B (oa)] [C tile and P staged (oc)]
// [ring of `slots` stages, each one d_ff tile's US_g rows, US_u rows and Vt_d columns].
struct Split {
  InSplit in;    // A over [Vt_g; Vt_u]
  OutSplit out;  // C over US_d
  int rgu = 0, rg_pad = 0, ru_pad = 0, rd_pad = 0, ff_tiles = 0, tiles_per_block = 0, slots = 0, grid = 0;
  __host__ __device__ int ldg() const { return rg_pad + 8; }
  __host__ __device__ int ldu() const { return ru_pad + 8; }
  __host__ __device__ int stage_g() const { return kTileRows * ldg() * 2; }
  __host__ __device__ int stage_u() const { return kTileRows * ldu() * 2; }
  __host__ __device__ int stage_bytes() const { return stage_g() + stage_u() + rd_pad * kLdv * 2; }
  __host__ __device__ int zstage_bytes() const { return kTokens * (ldg() + ldu() + kLdh) * 2 + kPartialBytes; }
  __host__ __device__ int oa() const { return align16(in.shared_bytes() > zstage_bytes() ? in.shared_bytes() : zstage_bytes()); }
  __host__ __device__ int oc() const { return align16(out.shared_bytes()); }
  int shared_bytes() const { return oa() + oc() + slots * stage_bytes(); }
};

Split split_of(const FlashsvdFfnDecodeArgs& a, int sms, int limit) {
  Split s;
  s.rgu = a.r_g + a.r_u;
  s.rg_pad = round_up(a.r_g, kTileRows), s.ru_pad = round_up(a.r_u, kTileRows), s.rd_pad = round_up(a.r_d, kTileRows);
  s.ff_tiles = ceil_div(a.d_ff, kTileRows);
  s.grid = sms;
  s.in = in_split(s.rgu, a.d_model, sms, kRoleBytes);
  s.out = out_split(a.d_model, a.r_d, sms, kRoleBytes);
  // As many stages as fit beside the A and C tiles, no more than a block has tiles.
  s.tiles_per_block = ceil_div(s.ff_tiles, sms);
  const int room = limit - s.oa() - s.oc();
  s.slots = std::clamp(room / s.stage_bytes(), 0, std::min(kMaxSlots, s.tiles_per_block));
  return s;
}

// cp.async.wait_group takes an immediate: at most n groups of this thread still pending.
__device__ __forceinline__ void wait_pending(int n) {
  switch (n) {
    case 0: cp_async_wait_group<0>(); break;
    case 1: cp_async_wait_group<1>(); break;
    case 2: cp_async_wait_group<2>(); break;
    case 3: cp_async_wait_group<3>(); break;
    case 4: cp_async_wait_group<4>(); break;
    case 5: cp_async_wait_group<5>(); break;
    case 6: cp_async_wait_group<6>(); break;
    case 7: cp_async_wait_group<7>(); break;
    default: cp_async_wait_group<8>(); break;
  }
}

// One phase-B stage: d_ff tile m's 16 rows of US_g and US_u, and its 16 columns of Vt_d for every down rank.
__device__ __forceinline__ void issue_stage(const FlashsvdFfnDecodeArgs& a, const Split& s, int m, unsigned char* st) {
  const int f0 = m * kTileRows;
  auto* g = reinterpret_cast<__half*>(st);
  auto* u = reinterpret_cast<__half*>(st + s.stage_g());
  auto* v = reinterpret_cast<__half*>(st + s.stage_g() + s.stage_u());
  stage_rows_async(a.US_g, a.r_g, a.d_ff, a.r_g, f0, 0, kTileRows, s.rg_pad, g, s.ldg());
  stage_rows_async(a.US_u, a.r_u, a.d_ff, a.r_u, f0, 0, kTileRows, s.ru_pad, u, s.ldu());
  stage_rows_async(a.Vt_d, a.d_ff, a.r_d, a.d_ff, 0, f0, s.rd_pad, kTileRows, v, kLdv);
}

template <int kPMt>
__global__ void __launch_bounds__(kThreads, 1) flashsvd_ffn_decode_v3(FlashsvdFfnDecodeArgs a, Split s) {
  extern __shared__ __align__(16) unsigned char smem[];
  unsigned char* oa = smem;
  unsigned char* oc = smem + s.oa();
  unsigned char* ring = oc + s.oc();
  const int b = static_cast<int>(blockIdx.x), G = static_cast<int>(gridDim.x), T = a.tokens, ldz = T;
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32, grp = lane / 4, tig = lane % 4;
  const int n_tiles = T > 8 ? 2 : 1;
  // This block's d_ff tiles.
  const int m_begin = static_cast<int>(static_cast<long long>(b) * s.ff_tiles / G);
  const int steps = static_cast<int>(static_cast<long long>(b + 1) * s.ff_tiles / G) - m_begin;

  // Everything this block will read first, in the order it is needed: A's slice, C's rows, B's first stages
  // (one cp.async group each; empty groups keep the count).
  if (b < s.in.blocks) project_in_issue(a.Vt_gu, s.rgu, a.d_model, a.X, T, s.in, b, oa);
  cp_async_commit();
  if (b < s.out.blocks) out_prefetch(a.US_d, a.d_model, a.r_d, s.out, b, oc);
  cp_async_commit();
  for (int i = 0; i < s.slots; ++i) {
    if (i < steps) issue_stage(a, s, m_begin + i, ring + i * s.stage_bytes());
    cp_async_commit();
  }

  // A: [Zg | Zu]^T += Vt_gu[rows, slice] X[:, slice]^T.
  wait_pending(s.slots + 1);
  __syncthreads();
  project_in_items(a.Vt_gu, s.rgu, a.d_model, a.X, T, s.in, b, G, oa, a.Z, ldz);
  arrive(a.counters + 0);
  wait_for(a.counters + 0, G);

  // B: Zg, Zu staged fp16 over the A tile; every block has staged them once the last gets past
  // last_to_stage, which then leaves Z zero for the next launch.
  auto* zg = reinterpret_cast<__half*>(oa);
  __half* zu = zg + kTokens * s.ldg();
  __half* hs = zu + kTokens * s.ldu();
  auto* red = reinterpret_cast<float*>(hs + kTokens * kLdh);
  stage_transposed(a.Z, a.r_g, s.rg_pad, T, zg, s.ldg(), ldz);
  stage_transposed(a.Z + a.r_g * ldz, a.r_u, s.ru_pad, T, zu, s.ldu(), ldz);
  if (last_to_stage(a.counters + 2, G)) {
    zero_workspace(a.Z, static_cast<int>(flashsvd_ffn_decode_z_floats(a.r_g, a.r_u, T, FlashsvdFfnDecodeKernel::v3)));
    if (threadIdx.x == 0) a.counters[0] = 0, a.counters[2] = 0;
  }
  const bool up = warp >= 4;
  const int part = warp % 4, pad = up ? s.ru_pad : s.rg_pad, ld = up ? s.ldu() : s.ldg();
  const __half* zs = up ? zu : zg;
  const int chunk = round_up(ceil_div(pad, 4), kTileRows);
  const int kp0 = min(part * chunk, pad), kp1 = min(kp0 + chunk, pad);
  float pacc[kPMt][2][4] = {};
  for (int i = 0; i < steps; ++i) {
    // Groups committed after stage i's: the later stages (slots - 1 of them, some empty).
    wait_pending(s.slots - 1);
    __syncthreads();
    unsigned char* st = ring + (i % s.slots) * s.stage_bytes();
    const auto* rows = reinterpret_cast<const __half*>(st + (up ? s.stage_g() : 0));
    const auto* vd = reinterpret_cast<const __half*>(st + s.stage_g() + s.stage_u());
    float acc[2][4] = {};
    if (kp0 < kp1) warp_tile_shared(rows, ld, zs, ld, kp0, kp1, n_tiles, acc, lane);
    store_partial(acc, red, warp, lane);
    __syncthreads();
    {
      const int row = threadIdx.x % kTileRows, t = threadIdx.x / kTileRows;
      const bool live = (m_begin + i) * kTileRows + row < a.d_ff && t < T;
      hs[t * kLdh + row] =
          __float2half_rn(live ? silu_gate(sum_parts(red, 0, 4, row, t), sum_parts(red, 1, 4, row, t)) : 0.0f);
    }
    __syncthreads();
#pragma unroll
    for (int p = 0; p < kPMt; ++p) {
      const int row0 = (warp + kWarps * p) * kTileRows;
      if (row0 >= s.rd_pad) break;
      mma_rows_nk<2>(vd + row0 * kLdv, kLdv, hs, kLdh, 0, n_tiles, kTileRows, pacc[p], lane);
    }
    __syncthreads();  // every warp is done with this stage: refill it
    if (i + s.slots < steps) issue_stage(a, s, m_begin + i + s.slots, st);
    cp_async_commit();
  }
  // P^T [r_d][T] += this block's partials, tokens < T only (rows are T floats).
#pragma unroll
  for (int p = 0; p < kPMt; ++p)
    for (int j = 0; j < n_tiles; ++j)
      for (int h = 0; h < 2; ++h)
        for (int q = 0; q < 2; ++q) {
          const int row = (warp + kWarps * p) * kTileRows + grp + 8 * h, t = 8 * j + 2 * tig + q;
          if (row < a.r_d && t < T) atomicAdd(a.P + row * ldz + t, pacc[p][j][2 * h + q]);
        }
  arrive(a.counters + 1);
  wait_for(a.counters + 1, G);

  // C: Y^T[rows] = US_d[rows] P^T; US_d's first rows have been in flight since the start.
  if (b < s.out.blocks) out_stage(a.P, a.r_d, T, s.out, oc, ldz);
  if (last_to_stage(a.counters + 3, G)) {
    zero_workspace(a.P, static_cast<int>(flashsvd_ffn_decode_p_floats(a.r_d, T, FlashsvdFfnDecodeKernel::v3)));
    if (threadIdx.x == 0) a.counters[1] = 0, a.counters[3] = 0;
  }
  out_items(a.US_d, a.d_model, a.r_d, T, s.out, b, G, oc, a.Y);
}

using Kernel = void (*)(FlashsvdFfnDecodeArgs, Split);
int p_mt_of(int r_d) {
  int p_mt = 1;
  while (p_mt * kWarps * kTileRows < r_d) p_mt *= 2;
  return p_mt;
}
Kernel kernel_for(int r_d) {
  switch (p_mt_of(r_d)) {
    case 1: return flashsvd_ffn_decode_v3<1>;
    case 2: return flashsvd_ffn_decode_v3<2>;
    case 4: return flashsvd_ffn_decode_v3<4>;
    default: return flashsvd_ffn_decode_v3<kMaxPMt>;
  }
}

Split split_for(const FlashsvdFfnDecodeArgs& a) { return split_of(a, device_sm_count(), device_shared_limit()); }

}  // namespace

bool supported(const FlashsvdFfnDecodeArgs& a) {
  if (a.r_d > kMaxPMt * kWarps * kTileRows) return false;
  const Split s = split_for(a);
  // Two stages at least (one loads while one computes) where a block has two tiles or more.
  return s.slots >= std::min(2, s.tiles_per_block) && s.slots >= 1 && s.shared_bytes() <= device_shared_limit();
}

int configure(const FlashsvdFfnDecodeArgs& a) {
  const Split s = split_for(a);
  const Kernel k = kernel_for(a.r_d);
  if (cudaFuncSetAttribute(k, cudaFuncAttributeMaxDynamicSharedMemorySize, s.shared_bytes()) != cudaSuccess) return 0;
  int per_sm = 0;
  if (cudaOccupancyMaxActiveBlocksPerMultiprocessor(&per_sm, k, kThreads, s.shared_bytes()) != cudaSuccess ||
      per_sm < 1)
    return 0;
  return s.grid;  // the split assumes one block an SM
}

void launch(const FlashsvdFfnDecodeArgs& args, cudaStream_t stream) {
  const Split s = split_for(args);
  launch_cooperative(kernel_for(args.r_d), s.grid, kThreads, s.shared_bytes(), stream, args, s);
}

}  // namespace lrb::kernels::ffn_v3
