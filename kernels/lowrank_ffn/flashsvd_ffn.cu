#include "kernels/lowrank_ffn/flashsvd_ffn.cuh"

#include <algorithm>
#include <cstdint>

#include "kernels/common/device_limits.cuh"
#include "kernels/common/token_mma.cuh"
#include "kernels/lowrank_ffn/silu_gate.cuh"
#include "kernels/lowrank_ffn/flashsvd_ffn_v3.cuh"

namespace lrb::kernels {
namespace {

using namespace token_mma;

constexpr int kThreads = 256, kWarps = kThreads / 32;
constexpr int kLdh = kTileRows + 8;           // h staged [16 tokens][16 d_ff rows (+8)]
constexpr int kMaxPMt = 8;                     // P^T m-tiles a warp keeps in registers: r_d <= 8 x 8 x 16

struct Split {
  InSplit in;    // A over [Vt_g; Vt_u]
  OutSplit out;  // C over US_d
  int rgu = 0, rg_pad = 0, ru_pad = 0, ff_tiles = 0, pb = 0, p_mt = 1;
  int b_bytes() const { return kTokens * (rg_pad + 8 + ru_pad + 8 + kLdh) * 2 + kPartialBytes; }
  int shared_bytes() const { return std::max({in.shared_bytes(), b_bytes(), out.shared_bytes()}); }
};

Split split_of(const FlashsvdFfnDecodeArgs& a, int sms) {
  Split s;
  s.rgu = a.r_g + a.r_u;
  s.rg_pad = round_up(a.r_g, kTileRows), s.ru_pad = round_up(a.r_u, kTileRows);
  s.ff_tiles = ceil_div(a.d_ff, kTileRows);
  s.pb = std::min(s.ff_tiles, sms);
  const int rd_tiles = ceil_div(a.r_d, kTileRows);
  while (s.p_mt * kWarps < rd_tiles) s.p_mt *= 2;
  // At kMaxPMt the registers allow one block an SM whatever the tile: the A and C tiles may then use the
  // SM's shared memory, fewer and longer slices, one wave.
  const int max_bytes = s.p_mt == kMaxPMt ? device_shared_limit() : kCoresidentBytes;
  s.in = in_split(s.rgu, a.d_model, sms, max_bytes);
  s.out = out_split(a.d_model, a.r_d, sms, max_bytes);
  return s;
}

// Phase B, one block: d_ff m-tiles [m_begin, m_end), one a step. Per step the gate's and the up's K are each cut
// into four warp parts (warps 0-3 the gate, 4-7 the up; their fragments straight from global memory), the
// parts meet in shared memory, h = silu(g) u for the 16 rows x 16 tokens (one a thread) is staged fp16, and
// each warp adds h's contribution to its P^T m-tiles (warp + 8 i) in registers; after the last step one
// float2 add a lane and slot into P^T [r_d][16] in L2.
template <int kPMt>
__device__ __forceinline__ void phase_b(const FlashsvdFfnDecodeArgs& a, const Split& s, int block,
                                        unsigned char* smem) {
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32, grp = lane / 4, tig = lane % 4;
  const int T = a.tokens, n_tiles = T > 8 ? 2 : 1;
  const int ldg = s.rg_pad + 8, ldu = s.ru_pad + 8;
  auto* zg = reinterpret_cast<__half*>(smem);
  __half* zu = zg + kTokens * ldg;
  __half* hs = zu + kTokens * ldu;
  auto* red = reinterpret_cast<float*>(hs + kTokens * kLdh);
  stage_transposed(a.Z, a.r_g, s.rg_pad, T, zg, ldg);
  stage_transposed(a.Z + a.r_g * kTokens, a.r_u, s.ru_pad, T, zu, ldu);
  __syncthreads();
  const bool up = warp >= 4;
  const int part = warp % 4, r = up ? a.r_u : a.r_g, pad = up ? s.ru_pad : s.rg_pad;
  const __half* US = up ? a.US_u : a.US_g;
  const __half* zs = up ? zu : zg;
  const int chunk = round_up(ceil_div(pad, 4), kTileRows);
  const int kp0 = min(part * chunk, pad), kp1 = min(kp0 + chunk, pad);
  const bool aligned = a.d_ff % 2 == 0;
  float pacc[kPMt][2][4] = {};
  const int m_begin = block * s.ff_tiles / s.pb, m_end = (block + 1) * s.ff_tiles / s.pb;
  for (int m = m_begin; m < m_end; ++m) {
    const int f0 = m * kTileRows;
    // Vt_d's fragments for this step first: they do not depend on h, so their loads overlap the g/u work.
    std::uint32_t vd[kPMt][4];
#pragma unroll
    for (int i = 0; i < kPMt; ++i) {
      const int row = (warp + kWarps * i) * kTileRows + grp;
      vd[i][0] = load_pair(a.Vt_d, a.d_ff, a.r_d, a.d_ff, row, f0 + 2 * tig, aligned);
      vd[i][1] = load_pair(a.Vt_d, a.d_ff, a.r_d, a.d_ff, row + 8, f0 + 2 * tig, aligned);
      vd[i][2] = load_pair(a.Vt_d, a.d_ff, a.r_d, a.d_ff, row, f0 + 2 * tig + 8, aligned);
      vd[i][3] = load_pair(a.Vt_d, a.d_ff, a.r_d, a.d_ff, row + 8, f0 + 2 * tig + 8, aligned);
    }
    float acc[2][4] = {};
    if (kp0 < kp1) warp_tile(US, r, a.d_ff, r, f0, kp0, kp1, zs, up ? ldu : ldg, 0, n_tiles, acc, lane);
    store_partial(acc, red, warp, lane);
    __syncthreads();
    {
      const int row = threadIdx.x % kTileRows, t = threadIdx.x / kTileRows;
      const bool live = f0 + row < a.d_ff && t < T;
      hs[t * kLdh + row] = __float2half_rn(live ? silu_gate(sum_parts(red, 0, 4, row, t), sum_parts(red, 1, 4, row, t)) : 0.0f);
    }
    __syncthreads();
#pragma unroll
    for (int i = 0; i < kPMt; ++i)
      for (int j = 0; j < n_tiles; ++j) {
        const __half* bp = hs + (8 * j + grp) * kLdh + 2 * tig;
        mma_16816(pacc[i][j], vd[i][0], vd[i][1], vd[i][2], vd[i][3], *reinterpret_cast<const std::uint32_t*>(bp),
                  *reinterpret_cast<const std::uint32_t*>(bp + 8));
      }
  }
#pragma unroll
  for (int i = 0; i < kPMt; ++i)
    for (int j = 0; j < n_tiles; ++j)
      for (int h = 0; h < 2; ++h) {
        const int row = (warp + kWarps * i) * kTileRows + grp + 8 * h, t = 8 * j + 2 * tig;
        if (row < a.r_d)
          atomicAdd(reinterpret_cast<float2*>(a.P + row * kTokens + t), make_float2(pacc[i][j][2 * h], pacc[i][j][2 * h + 1]));
      }
  // Off the critical path: once every phase-B block has staged Z, the last one leaves it zero for the next
  // launch.
  if (last_to_stage(a.counters + 2, s.pb)) {
    zero_workspace(a.Z, s.rgu * kTokens);
    if (threadIdx.x == 0) a.counters[0] = 0, a.counters[2] = 0;
  }
}

// Two blocks an SM where P's registers allow it (below 8 m-tiles a warp); at 8 the registers hold P without
// spilling at one block an SM.
template <int kPMt>
__global__ void __launch_bounds__(kThreads, kPMt < kMaxPMt ? 2 : 1) flashsvd_ffn_decode(FlashsvdFfnDecodeArgs a, Split s) {
  extern __shared__ __align__(16) unsigned char smem[];
  const int block = static_cast<int>(blockIdx.x), pa = s.in.blocks;
  if (block < pa) {
    // A: [Zg | Zu]^T += Vt_gu[rows, slice] X[:, slice]^T.
    project_in(a.Vt_gu, s.rgu, a.d_model, a.X, a.tokens, s.in, block, smem, a.Z);
    arrive(a.counters + 0);
    return;
  }
  if (block < pa + s.pb) {
    wait_for(a.counters + 0, pa);
    phase_b<kPMt>(a, s, block - pa, smem);
    arrive(a.counters + 1);
    return;
  }
  // C: US_d's rows first, then every phase-B block's arrival; Y^T[rows] = US_d[rows] P^T.
  const int c = block - pa - s.pb;
  out_prefetch(a.US_d, a.d_model, a.r_d, s.out, c, smem);
  wait_for(a.counters + 1, s.pb);
  out_stage(a.P, a.r_d, a.tokens, s.out, smem);
  out_finish(a.d_model, a.tokens, s.out, c, smem, a.Y);
  if (last_to_stage(a.counters + 3, s.out.blocks)) {
    zero_workspace(a.P, a.r_d * kTokens);
    if (threadIdx.x == 0) a.counters[1] = 0, a.counters[3] = 0;
  }
}

using Kernel = void (*)(FlashsvdFfnDecodeArgs, Split);
Kernel kernel_for(int p_mt) {
  switch (p_mt) {
    case 1: return flashsvd_ffn_decode<1>;
    case 2: return flashsvd_ffn_decode<2>;
    case 4: return flashsvd_ffn_decode<4>;
    default: return flashsvd_ffn_decode<kMaxPMt>;
  }
}

}  // namespace

bool flashsvd_ffn_decode_supported(const FlashsvdFfnDecodeArgs& a) {
  if (a.tokens < 1 || a.tokens > kFlashsvdFfnDecodeMaxTokens || a.d_model < 1 || a.d_ff < 1 || a.r_g < 1 ||
      a.r_u < 1 || a.r_d < 1 || a.r_d > kFlashsvdFfnDecodeMaxDownRank)
    return false;
  if (a.kernel == FlashsvdFfnDecodeKernel::v3) return ffn_v3::supported(a);
  return split_of(a, device_sm_count()).shared_bytes() <= device_shared_limit();
}

int configure_flashsvd_ffn_decode(const FlashsvdFfnDecodeArgs& a) {
  if (a.kernel == FlashsvdFfnDecodeKernel::v3) return ffn_v3::configure(a);
  const Split s = split_of(a, device_sm_count());
  if (s.shared_bytes() > 48 * 1024)
    cudaFuncSetAttribute(kernel_for(s.p_mt), cudaFuncAttributeMaxDynamicSharedMemorySize, s.shared_bytes());
  return s.in.blocks + s.pb + s.out.blocks;
}

void launch_flashsvd_ffn_decode(const FlashsvdFfnDecodeArgs& args, cudaStream_t stream) {
  if (args.tokens == 0) return;
  if (args.kernel == FlashsvdFfnDecodeKernel::v3) return ffn_v3::launch(args, stream);
  const Split s = split_of(args, device_sm_count());
  kernel_for(s.p_mt)<<<s.in.blocks + s.pb + s.out.blocks, kThreads, s.shared_bytes(), stream>>>(args, s);
}

}  // namespace lrb::kernels
