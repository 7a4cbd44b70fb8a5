#pragma once
// flashsvd, decode form (T <= 16 tokens): Y = (X Vt^T) US^T in ONE launch, the rank-r intermediate Z never
// written as a tensor of the method (docs/perf/flashsvd.md, v1):
//   phase 1 (the grid's first blocks): Z^T [r x T] = Vt [r x d_in] X^T, split over d_in and r; tensor cores
//     with the tokens as the mma's N (8 or 16 wide, no 64-row minimum tile: M is the rank), fp32 partials
//     added into a small fp32 Z^T [r][16] in L2 (red.global.add);
//   phase 2 (the rest): once every phase-1 block has arrived (a counter; phase-1 blocks have the lower
//     indices, so they are dispatched first and a waiting phase-2 block never blocks them: the forward-progress
//     argument of single-pass scans), Y^T [d_out x T] = US [d_out x r] Z^T, split over d_out, Z staged in
//     shared memory as fp16 (two_gemm rounds its intermediate to fp16 too).
// v2: every block copies its factor slice into shared memory (cp.async) first thing, so phase 2's bytes are
// in flight while phase 1 runs; the mma reads shared memory only (docs/perf/flashsvd.md, decode v2).
// v3: every block in both roles (docs/perf/flashsvd.md, decode v3): it issues its phase-1 slice (one cp.async
// group), then its phase-2 rows (the next group), computes phase 1 as soon as the first group has landed, adds
// and arrives, waits for every block, and finishes phase 2 from shared memory. Phase 1 completes after about
// half the bytes instead of nearly all; every block waits for every other, so the grid is at most what the
// device holds at once and is launched cooperative (the launch fails rather than deadlocks otherwise). Z^T is
// T floats wide (v2: 16).
// The last phase-2 block to stage Z zeroes it and resets the counters: each launch leaves the workspace as it
// found it (graph replays need no memset node).
#include <cuda_fp16.h>
#include <cuda_runtime.h>

namespace lrb::kernels {

inline constexpr int kFlashsvdDecodeMaxTokens = 16;

enum class FlashsvdDecodeKernel { v2, v3 };

struct FlashsvdDecodeArgs {
  const __half* X = nullptr;   // [T][d_in]
  const __half* Vt = nullptr;  // [r][d_in]
  const __half* US = nullptr;  // [d_out][r]
  __half* Y = nullptr;         // [T][d_out]
  float* Z = nullptr;          // workspace Z^T [r][16] fp32, zero between launches (zero it once before the first)
  unsigned* counters = nullptr;  // workspace [2], zero between launches
  int tokens = 0, d_in = 0, d_out = 0, rank = 0;
  FlashsvdDecodeKernel kernel = FlashsvdDecodeKernel::v2;
  int grid = 0;  // v3: the blocks configure_flashsvd_decode returned
};

// Z^T's row length in floats (v2: 16 tokens whatever the count; v3: the token count).
__host__ __device__ inline int flashsvd_decode_ldz(int tokens, FlashsvdDecodeKernel k) {
  return k == FlashsvdDecodeKernel::v2 ? kFlashsvdDecodeMaxTokens : tokens;
}
// Workspace floats for rank `rank` (a multiple of 4: the kernel zeroes it by float4).
__host__ __device__ inline std::size_t flashsvd_decode_z_floats(int rank, int tokens, FlashsvdDecodeKernel k) {
  return (static_cast<std::size_t>(flashsvd_decode_ldz(tokens, k)) * rank + 3) / 4 * 4;
}
inline constexpr std::size_t kFlashsvdDecodeCounters = 2;

// Whether the decode kernel takes the shape (tokens 1..16, every dimension >= 1; shared memory for Z within
// the device's limit).
bool flashsvd_decode_supported(int tokens, int d_in, int d_out, int rank, FlashsvdDecodeKernel k);
// Untimed, once per shape before the first launch (the kernel's dynamic shared memory above 48 KiB); returns
// the grid (v3: the most blocks the device holds at once, at most the work items; v2: its phase blocks).
int configure_flashsvd_decode(int d_in, int d_out, int rank, FlashsvdDecodeKernel k);
void launch_flashsvd_decode(const FlashsvdDecodeArgs& args, cudaStream_t stream);

}  // namespace lrb::kernels
