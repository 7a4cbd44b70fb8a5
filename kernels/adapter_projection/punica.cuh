#pragma once
// Punica-style LoRA kernels (BGMV / SGMV; docs/perf/adapters.md): a shrink T = X A_k^T into an fp32 [tokens, r]
// buffer and an expand Y (+)= s_k T B_k^T, each ONE launch for every projection of the pass (grid.y indexes a
// table of projections), over segments of tokens that share an adapter:
// - bgmv: one segment per token, in batch order (the per-token adapter index; nothing sorted);
// - sgmv: the batch layout's segments (tokens sorted by adapter), so each adapter's factors are read once
//   per segment instead of once per token.
// The shrink splits d_in over blocks where the segments are few (small batches) and adds its partial sums into
// T with atomics (T is zeroed in the same pass); the expand reads T once per segment.
#include <cuda_fp16.h>
#include <cuda_runtime.h>

namespace lrb::kernels {

// The expand keeps a row of B_k in registers: ranks up to 64 (the issue's 8-64; Punica's kernels stop there too).
inline constexpr int kLoraMaxRank = 64;

// One projection's operands (device pointers). A: [K][r][d_in], B: [K][d_out][r] (stacked, row-major),
// scale: [K]; X: [tokens][d_in], Y: [tokens][d_out]; T: [tokens][r] fp32.
struct LoraProjectionArgs {
  const __half* X = nullptr;
  const __half* A = nullptr;
  const __half* B = nullptr;
  const float* scale = nullptr;
  __half* Y = nullptr;
  float* T = nullptr;
  int d_in = 0, d_out = 0;
};

// The launch over a table of projections sharing one token layout: segment s holds tokens
// order[seg_offset[s] .. seg_offset[s + 1]) and uses adapter seg_adapter[s] (all device arrays); an adapter of -1
// (no adapter) adds nothing: Y keeps the base, or is 0 where the expand does not accumulate.
struct LoraLaunch {
  const LoraProjectionArgs* projections = nullptr;  // device array [n_projections]
  int n_projections = 0;
  const int* seg_offset = nullptr;
  const int* seg_adapter = nullptr;
  const int* order = nullptr;
  int segments = 0, tokens = 0, rank = 0;
  int max_d_in = 0, max_d_out = 0;
  int shrink_splits = 1;      // d_in slices a segment (shrink_splits_for)
  bool accumulate = true;     // expand: Y += (base+adapter) or Y = (adapter-only)
};

// d_in slices per segment so the shrink has enough blocks: ~2 per SM over all projections, each slice at
// least 512 columns.
int shrink_splits_for(int segments, int n_projections, int max_d_in, int sm_count);

// T = X A_k^T for every projection (T must be zero first: the caller's memset in the same stream).
void launch_lora_shrink(const LoraLaunch& l, cudaStream_t stream);
// Y (+)= s_k T B_k^T for every projection.
void launch_lora_expand(const LoraLaunch& l, cudaStream_t stream);

}  // namespace lrb::kernels
