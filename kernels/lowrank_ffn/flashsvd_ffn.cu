#include "kernels/lowrank_ffn/flashsvd_ffn.cuh"

#include <algorithm>
#include <cstdint>

#include "kernels/common/device_limits.cuh"
#include "kernels/common/token_mma.cuh"

namespace lrb::kernels {
namespace {

using namespace token_mma;

constexpr int kThreads = 256, kWarps = kThreads / 32;
constexpr int kBlockRows = kProjectOutRows;            // phase C
constexpr int kFfRows = kTileRows * kWarps;             // phase B: a warp a 16-row m-tile of d_ff
constexpr int kLdh = kFfRows + 8;

struct Split {
  InSplit in;  // phase A over [Vt_g; Vt_u]
  int rgu, pb, pc, rg_pad, ru_pad, rd_pad;
  int shared_bytes() const {
    const int b = kTokens * (rg_pad + 8) * 2 + kTokens * (ru_pad + 8) * 2 + kTokens * kLdh * 2;
    const int c = kTokens * (rd_pad + 8) * 2 + kProjectOutReduceBytes;
    return std::max({in.shared_bytes(), b, c});
  }
};

Split split_of(const FlashsvdFfnDecodeArgs& a, int sms) {
  Split s{};
  s.rgu = a.r_g + a.r_u;
  s.in = in_split(s.rgu, a.d_model, sms);
  s.pb = ceil_div(a.d_ff, kFfRows);
  s.pc = ceil_div(a.d_model, kBlockRows);
  s.rg_pad = round_up(a.r_g, 16), s.ru_pad = round_up(a.r_u, 16), s.rd_pad = round_up(a.r_d, 32);
  return s;
}

__device__ __forceinline__ float silu_gate(float g, float u) { return g / (1.0f + expf(-g)) * u; }

__global__ void __launch_bounds__(kThreads) flashsvd_ffn_decode(FlashsvdFfnDecodeArgs a, Split s) {
  extern __shared__ __align__(16) unsigned char smem[];
  auto* bs = reinterpret_cast<__half*>(smem);
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  const int T = a.tokens, n_tiles = T > 8 ? 2 : 1;
  const int block = static_cast<int>(blockIdx.x), pa = s.in.blocks;

  if (block < pa) {
    // A: [Zg | Zu]^T += Vt_gu[64 rows, d_model slice] X[:, slice]^T, into Z [T][r_g + r_u].
    project_in(a.Vt_gu, s.rgu, a.d_model, a.X, T, s.in, block, bs, a.Z);
    arrive(a.counters + 0);
    return;
  }

  if (block < pa + s.pb) {
    // B: rows [f0, f0 + 128) of d_ff: g, u, h in registers, then P += h Vt_d[:, f0 ..]^T.
    wait_for(a.counters + 0, pa);
    const int ldg = s.rg_pad + 8, ldu = s.ru_pad + 8;
    __half* zg = bs;
    __half* zu = zg + kTokens * ldg;
    __half* hs = zu + kTokens * ldu;
    stage_fp32(a.Z, s.rgu, T, a.r_g, zg, ldg, s.rg_pad);
    stage_fp32(a.Z + a.r_g, s.rgu, T, a.r_u, zu, ldu, s.ru_pad);
    if (last_to_stage(a.counters + 2, s.pb)) {
      for (int e = threadIdx.x; e < T * s.rgu; e += kThreads) a.Z[e] = 0.0f;
      if (threadIdx.x == 0) a.counters[0] = 0, a.counters[2] = 0;
    }
    const int f0 = (block - pa) * kFfRows, m0 = f0 + warp * kTileRows;
    float ag[2][4] = {}, au[2][4] = {};
    if (m0 < a.d_ff) {
      warp_tile(a.US_g, a.r_g, a.d_ff, a.r_g, m0, 0, a.r_g, zg, ldg, 0, n_tiles, ag, lane);
      warp_tile(a.US_u, a.r_u, a.d_ff, a.r_u, m0, 0, a.r_u, zu, ldu, 0, n_tiles, au, lane);
    }
    // h (token-major, the next mma's B operand); rows past d_ff and tokens past T are zeros.
    for (int j = 0; j < 2; ++j)
      for (int q = 0; q < 4; ++q) {
        const int row = warp * kTileRows + slot_row(lane, q), t = slot_token(lane, j, q);
        const bool live = j < n_tiles && f0 + row < a.d_ff && t < T;
        hs[t * kLdh + row] = __float2half_rn(live ? silu_gate(ag[j][q], au[j][q]) : 0.0f);
      }
    __syncthreads();
    const int kend = min(f0 + kFfRows, a.d_ff);
    for (int mt = warp; mt * kTileRows < a.r_d; mt += kWarps) {
      float ap[2][4] = {};
      warp_tile(a.Vt_d, a.d_ff, a.r_d, a.d_ff, mt * kTileRows, f0, kend, hs, kLdh, f0, n_tiles, ap, lane);
      for (int j = 0; j < n_tiles; ++j)
        for (int q = 0; q < 4; ++q) {
          const int c = mt * kTileRows + slot_row(lane, q), t = slot_token(lane, j, q);
          if (c < a.r_d && t < T) atomicAdd(a.P + static_cast<long long>(t) * a.r_d + c, ap[j][q]);
        }
    }
    arrive(a.counters + 1);
    return;
  }

  // C: Y^T[o0 .. o0 + 64, :] = US_d P^T, the rank split between warps w and w + 4.
  wait_for(a.counters + 1, s.pb);
  const int ldb = s.rd_pad + 8;
  stage_fp32(a.P, a.r_d, T, a.r_d, bs, ldb, s.rd_pad);
  if (last_to_stage(a.counters + 3, s.pc)) {
    for (int e = threadIdx.x; e < T * a.r_d; e += kThreads) a.P[e] = 0.0f;
    if (threadIdx.x == 0) a.counters[1] = 0, a.counters[3] = 0;
  }
  project_out(a.US_d, a.d_model, a.r_d, s.rd_pad, bs, ldb, T, (block - pa - s.pb) * kBlockRows,
              reinterpret_cast<float*>(smem + kTokens * ldb * 2), a.Y);
}

}  // namespace

bool flashsvd_ffn_decode_supported(const FlashsvdFfnDecodeArgs& a) {
  if (a.tokens < 1 || a.tokens > kFlashsvdFfnDecodeMaxTokens || a.d_model < 1 || a.d_ff < 1 || a.r_g < 1 ||
      a.r_u < 1 || a.r_d < 1)
    return false;
  return split_of(a, device_sm_count()).shared_bytes() <= device_shared_limit();
}

void configure_flashsvd_ffn_decode(const FlashsvdFfnDecodeArgs& a) {
  const int bytes = split_of(a, device_sm_count()).shared_bytes();
  if (bytes > 48 * 1024)
    cudaFuncSetAttribute(flashsvd_ffn_decode, cudaFuncAttributeMaxDynamicSharedMemorySize, bytes);
}

void launch_flashsvd_ffn_decode(const FlashsvdFfnDecodeArgs& args, cudaStream_t stream) {
  if (args.tokens == 0) return;
  const Split s = split_of(args, device_sm_count());
  flashsvd_ffn_decode<<<s.in.blocks + s.pb + s.pc, kThreads, s.shared_bytes(), stream>>>(args, s);
}

}  // namespace lrb::kernels
