#pragma once
// flashsvd_ffn, prefill form (T > 16; docs/perf/flashsvd.md, prefill v1): the fused middle of the low-rank
// SwiGLU FFN. Given Z = X [Vt_g; Vt_u]^T (one GEMM before it) it computes, per tile of 64 tokens and a run of
// 32-row d_ff tiles, g = Zg US_g[tile]^T and u = Zu US_u[tile]^T on tensor cores, h = silu(g) u in registers,
// h staged fp16 in shared memory, and P [64 x r_d] += h Vt_d[:, tile]^T in registers across the run; then
// one fp32 add a token and rank into P [T][r_d] (L2). [T, d_ff] never exists: the live state is a CTA's
// 64 x 32 h tile. The d_ff tiles of a token tile are split over `splits` CTAs so the grid covers the SMs.
// Y = P US_d^T is one GEMM after it (P rounded to fp16 once, as the unfused paths round their intermediate).
// Ranks up to 256 (the Z tiles in shared memory, P in registers); the factor stages double-buffered by
// cp.async.
#include <cuda_fp16.h>
#include <cuda_runtime.h>

namespace lrb::kernels {

inline constexpr int kFlashsvdFfnPrefillMaxRank = 256;

struct FlashsvdFfnPrefillArgs {
  const __half* Zg = nullptr;    // [T][ld_z]: gate's rank inputs in columns [0, r_g)
  const __half* Zu = nullptr;    // [T][ld_z]: up's in [0, r_u) (16-byte aligned)
  int ld_z = 0;
  const __half* US_g = nullptr;  // [d_ff][r_g]
  const __half* US_u = nullptr;  // [d_ff][r_u]
  const __half* Vt_d = nullptr;  // [r_d][d_ff]
  float* P = nullptr;            // [T][r_d] fp32, zero before the launch; the kernel adds into it
  int tokens = 0, d_ff = 0, r_g = 0, r_u = 0, r_d = 0;
};

// Whether the kernel takes the shape (every rank 1..256, the tiles within the device's shared memory).
bool flashsvd_ffn_prefill_supported(int r_g, int r_u, int r_d);
// Untimed, once per shape (dynamic shared memory above 48 KiB).
void configure_flashsvd_ffn_prefill(const FlashsvdFfnPrefillArgs& shape);
void launch_flashsvd_ffn_prefill(const FlashsvdFfnPrefillArgs& args, cudaStream_t stream);

// P16 [T][ld_out] = fp16(P [T][r_d]) (round to nearest), columns [r_d, ld_out) zero.
void launch_round_rows_to_half(const float* P, int tokens, int r_d, __half* out, int ld_out, cudaStream_t stream);

}  // namespace lrb::kernels
