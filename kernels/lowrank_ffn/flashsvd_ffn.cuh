#pragma once
// flashsvd_ffn, decode form (T <= 16 tokens): the low-rank SwiGLU FFN y = down(silu(gate(x)) * up(x)) in ONE
// launch that never holds [T, d_ff] (docs/perf/flashsvd.md), three phases chained by arrival counters:
//   A: [Zg | Zu]^T = [Vt_g; Vt_u] X^T (the packed input factors), split over d_model and the rank, each
//      block's factor slice staged by cp.async, fp32 adds into Z^T [r_g + r_u][16] in L2;
//   B: one block an SM, each over a run of 16-row d_ff tiles: g = Zg US_g[rows]^T and u = Zu US_u[rows]^T
//      (the K of each cut over four warps), h = silu(g) u staged as fp16 [16][16], then each warp's P^T m-tiles
//      += Vt_d[m-tile, rows] h^T in registers across the run; one float2 add a slot into P^T [r_d][16] at the
//      end (r_d <= kFlashsvdFfnDecodeMaxDownRank);
//   C: Y = P US_d^T, split over d_model; each block loads its US_d rows before it waits for B.
// Tensor cores with the tokens as N (kernels/common/token_mma.cuh); each phase's blocks have higher indices
// than the phase they wait for. The last reader of each workspace zeroes it and resets its counters.
// v3 (flashsvd_ffn_v3.cu; docs/perf/flashsvd.md, decode v3): one block an SM in all three roles, launched
// cooperative; each block issues its A slice, its C rows and its first phase-B d_ff tiles (a ring of cp.async
// stages) before it computes anything, so the launch's factor bytes are in flight together; phase B reads its
// tiles from shared memory. Shapes whose ring has fewer than two stages beside the A and C tiles (r ~> 512 on
// Llama-2-7B) are not taken. Its workspaces are T floats a row (v2: 16).
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <cstddef>

namespace lrb::kernels {

inline constexpr int kFlashsvdFfnDecodeMaxTokens = 16;
inline constexpr std::size_t kFlashsvdFfnDecodeCounters = 4;
// Phase B keeps down's input factor P^T in registers: 8 m-tiles of 16 a warp, 8 warps.
inline constexpr int kFlashsvdFfnDecodeMaxDownRank = 1024;
enum class FlashsvdFfnDecodeKernel { v2, v3 };

// Workspace row length (v2: 16 tokens whatever the count; v3: the token count) and floats (a multiple of 4:
// the kernels zero them by float4).
__host__ __device__ inline int flashsvd_ffn_decode_ldz(int tokens, FlashsvdFfnDecodeKernel k) {
  return k == FlashsvdFfnDecodeKernel::v2 ? 16 : tokens;
}
__host__ __device__ inline std::size_t flashsvd_ffn_decode_z_floats(int r_g, int r_u, int tokens,
                                                                    FlashsvdFfnDecodeKernel k) {
  return (static_cast<std::size_t>(r_g + r_u) * flashsvd_ffn_decode_ldz(tokens, k) + 3) / 4 * 4;
}
__host__ __device__ inline std::size_t flashsvd_ffn_decode_p_floats(int r_d, int tokens, FlashsvdFfnDecodeKernel k) {
  return (static_cast<std::size_t>(r_d) * flashsvd_ffn_decode_ldz(tokens, k) + 3) / 4 * 4;
}

struct FlashsvdFfnDecodeArgs {
  const __half* X = nullptr;      // [T][d_model]
  const __half* Vt_gu = nullptr;  // [r_g + r_u][d_model]: gate's input factor, then up's
  const __half* US_g = nullptr;   // [d_ff][r_g]
  const __half* US_u = nullptr;   // [d_ff][r_u]
  const __half* Vt_d = nullptr;   // [r_d][d_ff]
  const __half* US_d = nullptr;   // [d_model][r_d]
  __half* Y = nullptr;            // [T][d_model]
  float* Z = nullptr;             // workspace Z^T [r_g + r_u][16], zero between launches (zero it once before the first)
  float* P = nullptr;             // workspace P^T [r_d][16], zero between launches
  unsigned* counters = nullptr;   // workspace [kFlashsvdFfnDecodeCounters], zero between launches
  int tokens = 0, d_model = 0, d_ff = 0, r_g = 0, r_u = 0, r_d = 0;
  FlashsvdFfnDecodeKernel kernel = FlashsvdFfnDecodeKernel::v2;
  int grid = 0;  // v3: what configure_flashsvd_ffn_decode returned
};

// Whether the decode kernel takes the shape (tokens 1..16, r_d <= kFlashsvdFfnDecodeMaxDownRank, the staged
// tiles within the device's shared memory).
bool flashsvd_ffn_decode_supported(const FlashsvdFfnDecodeArgs& shape);
// Untimed, once per shape before the first launch (dynamic shared memory above 48 KiB); returns the grid
// (v3: one block an SM, 0 where the device cannot hold it).
int configure_flashsvd_ffn_decode(const FlashsvdFfnDecodeArgs& shape);
void launch_flashsvd_ffn_decode(const FlashsvdFfnDecodeArgs& args, cudaStream_t stream);

}  // namespace lrb::kernels
