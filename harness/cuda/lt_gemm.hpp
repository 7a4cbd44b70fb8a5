#pragma once
// cuBLASLt GEMMs with the algorithm chosen by measurement: for each shape, the heuristic's candidates are
// timed cold (L2 read-sweep before each) on the method's own buffers during prepare, and the fastest is
// kept for the process. A baseline gets the best algorithm for its shape, not the library default.
#include <cuda_fp16.h>

#include "harness/cuda/cuda_context.hpp"
#include "harness/json.hpp"

namespace lrb::cuda {

// Plans (tunes) the TN GEMM of gemm_tn's contract for this shape; call in prepare with real buffers.
// C is overwritten by the tuning runs.
void plan_gemm_tn(CudaContext& ctx, int m, int n, int k, const __half* A, int lda, const __half* B, int ldb, float beta,
                  __half* C, int ldc);
// Runs the planned algorithm for the shape (cublasGemmEx when the shape was never planned).
void tuned_gemm_tn(CudaContext& ctx, int m, int n, int k, float alpha, const __half* A, int lda, const __half* B,
                   int ldb, float beta, __half* C, int ldc);
// What was chosen, for the record: {shape: {algo id, candidates, best_us, default_us}}.
Json gemm_plans_json();

}  // namespace lrb::cuda
