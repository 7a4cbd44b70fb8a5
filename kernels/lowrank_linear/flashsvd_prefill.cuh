#pragma once
// flashsvd, prefill form (T > 16; docs/perf/flashsvd.md, prefill v1): Y = (X Vt^T) US^T with the rank-r
// intermediate shared across a thread-block cluster instead of written to memory or recomputed. A cluster of
// 8 CTAs owns a tile of 64 tokens: CTA c computes Z's rank columns [c r / 8, (c + 1) r / 8) for those tokens
// (K = d_in, tensor cores, X and Vt tiles double-buffered by cp.async), leaves them in its shared memory as
// fp16, and after a cluster barrier every CTA copies the whole Z [64 x r] from its peers' shared memory
// (distributed shared memory); then CTA c streams US for the output column tiles c, c + 8, ... and writes
// Y. Nothing of Z is recomputed and nothing of it reaches global memory. Ranks up to 1024.
// v2 (flashsvd_prefill_v2.cu, `prefill_kernel: v2`) splits phase 1 over d_in instead of the rank, reduces the
// partials through distributed shared memory, and pipelines both phases over flattened item loops.
#include <cuda_fp16.h>
#include <cuda_runtime.h>

namespace lrb::kernels {

inline constexpr int kFlashsvdPrefillMaxRank = 1024;

enum class FlashsvdPrefillKernel { v1, v2 };

struct FlashsvdPrefillArgs {
  const __half* X = nullptr;   // [T][d_in]
  const __half* Vt = nullptr;  // [r][d_in]
  const __half* US = nullptr;  // [d_out][r]
  __half* Y = nullptr;         // [T][d_out]
  int tokens = 0, d_in = 0, d_out = 0, rank = 0;
  FlashsvdPrefillKernel kernel = FlashsvdPrefillKernel::v1;
};

// Whether the kernel takes the shape (rank 1..1024 and its tiles within the device's shared memory).
bool flashsvd_prefill_supported(int d_in, int d_out, int rank, FlashsvdPrefillKernel kernel);
// Untimed, once per shape (dynamic shared memory above 48 KiB).
void configure_flashsvd_prefill(int d_in, int d_out, int rank, FlashsvdPrefillKernel kernel);
void launch_flashsvd_prefill(const FlashsvdPrefillArgs& args, cudaStream_t stream);

// v2's entry points (the dispatch above calls them).
bool flashsvd_prefill_v2_supported(int d_in, int d_out, int rank);
void configure_flashsvd_prefill_v2(int d_in, int d_out, int rank);
void launch_flashsvd_prefill_v2(const FlashsvdPrefillArgs& args, cudaStream_t stream);

}  // namespace lrb::kernels
