#pragma once
// The fused base+LoRA pass (issue 13 item 2; docs/perf/adapters.md "fused v1"): Y = X W^T + s_k T B_k^T written
// ONCE. A skinny GEMM with the batch's tokens as the tensor-core N (batch <= 64: every token of the batch in one
// tile), streaming W through a cp.async multi-stage pipeline, one launch for every projection of the pass
// (grid.y indexes the table); its epilogue adds each token's LoRA delta from the shrink's fp32 T and the rows of
// B_k of the tile before the one fp16 store. The shrink (punica.cuh) runs before it; the unfused path wrote Y in
// the base GEMM and read and wrote it again in the expand.
#include <cuda_fp16.h>
#include <cuda_runtime.h>

namespace lrb::kernels {

// Tokens one launch holds (8 n-tiles of 8); larger batches take the unfused path.
inline constexpr int kFusedLoraMaxTokens = 64;

// One projection: X [tokens][d_in], W [d_out][d_in], B [K][d_out][r], scale [K], T [tokens][r] fp32 (the shrink's
// output), Y [tokens][d_out].
struct FusedLoraProjection {
  const __half* X = nullptr;
  const __half* W = nullptr;
  const __half* B = nullptr;
  const float* scale = nullptr;
  const float* T = nullptr;
  __half* Y = nullptr;
  int d_in = 0, d_out = 0;
};

struct FusedLoraLaunch {
  const FusedLoraProjection* projections = nullptr;  // device array [n_projections]
  int n_projections = 0;
  const int* token_adapter = nullptr;  // device [tokens]; -1: no adapter (Y = the base)
  int tokens = 0, rank = 0, max_d_out = 0;
};

// Y = X W^T + s_k T B_k^T for every projection; tokens <= kFusedLoraMaxTokens, rank <= 64.
void launch_fused_lora(const FusedLoraLaunch& l, cudaStream_t stream);

}  // namespace lrb::kernels
