#pragma once
// flashsvd_ffn, decode form (T <= 16 tokens): the low-rank SwiGLU FFN y = down(silu(gate(x)) * up(x)) in ONE
// launch that never holds [T, d_ff] (docs/perf/flashsvd.md), three phases chained by arrival counters:
//   A: [Zg | Zu] = X [Vt_g; Vt_u]^T (the packed input factors), split over d_model, fp32 adds into L2;
//   B: per block of 128 d_ff rows: g = Zg US_g[rows]^T and u = Zu US_u[rows]^T in mma accumulators of the same
//      layout, h = silu(g) u in registers, h staged as fp16 [16][128], then P += h Vt_d[:, rows]^T (fp32 adds
//      into P [T][r_d] in L2);
//   C: Y = P US_d^T, split over d_model.
// Tensor cores with the tokens as N (kernels/common/token_mma.cuh); each phase's blocks have higher indices
// than the phase they wait for. The last reader of each workspace zeroes it and resets its counters.
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <cstddef>

namespace lrb::kernels {

inline constexpr int kFlashsvdFfnDecodeMaxTokens = 16;
inline constexpr std::size_t kFlashsvdFfnDecodeCounters = 4;

struct FlashsvdFfnDecodeArgs {
  const __half* X = nullptr;      // [T][d_model]
  const __half* Vt_gu = nullptr;  // [r_g + r_u][d_model]: gate's input factor, then up's
  const __half* US_g = nullptr;   // [d_ff][r_g]
  const __half* US_u = nullptr;   // [d_ff][r_u]
  const __half* Vt_d = nullptr;   // [r_d][d_ff]
  const __half* US_d = nullptr;   // [d_model][r_d]
  __half* Y = nullptr;            // [T][d_model]
  float* Z = nullptr;             // workspace [T][r_g + r_u], zero between launches (zero it once before the first)
  float* P = nullptr;             // workspace [T][r_d], zero between launches
  unsigned* counters = nullptr;   // workspace [kFlashsvdFfnDecodeCounters], zero between launches
  int tokens = 0, d_model = 0, d_ff = 0, r_g = 0, r_u = 0, r_d = 0;
};

bool flashsvd_ffn_decode_supported(const FlashsvdFfnDecodeArgs& shape);
// Untimed, once per shape before the first launch (dynamic shared memory above 48 KiB).
void configure_flashsvd_ffn_decode(const FlashsvdFfnDecodeArgs& shape);
void launch_flashsvd_ffn_decode(const FlashsvdFfnDecodeArgs& args, cudaStream_t stream);

}  // namespace lrb::kernels
