#pragma once
// cuBLASLt GEMMs with the algorithm chosen by measurement: for each shape, the heuristic's candidates are
// timed cold (L2 read-sweep before each) on the method's own buffers during prepare, and the fastest is
// kept for the process. A baseline gets the best algorithm for its shape, not the library default.
#include <cuda_fp16.h>

#include <string>

#include "harness/cuda/cuda_context.hpp"
#include "harness/json.hpp"

namespace lrb::cuda {

// A column-major GEMM C[m x n] = alpha op(A) op(B) + beta C, fp16 A and B, fp32 accumulation, C in fp16 or
// fp32, optionally a strided batch (every operand advanced by its stride per batch entry).
struct GemmShape {
  cublasOperation_t ta = CUBLAS_OP_T, tb = CUBLAS_OP_N;
  int m = 0, n = 0, k = 0, lda = 0, ldb = 0, ldc = 0;
  cudaDataType_t c_type = CUDA_R_16F;
  int batch = 1;
  long long stride_a = 0, stride_b = 0, stride_c = 0;
  bool accumulate = false;  // beta != 0 (part of the plan: an algorithm may differ)
  std::string key() const;
};

// Plans (tunes) the GEMM for this shape; call in prepare with real buffers. C is overwritten by the trials.
void plan_gemm(CudaContext& ctx, const GemmShape& s, const void* A, const void* B, void* C);
// Runs the planned algorithm for the shape (cublasGemmStridedBatchedEx when it was never planned).
void run_gemm(CudaContext& ctx, const GemmShape& s, float alpha, const void* A, const void* B, float beta, void* C);

// The TN GEMM of gemm_tn's contract (fp16 C, no batch), planned and run as above.
void plan_gemm_tn(CudaContext& ctx, int m, int n, int k, const __half* A, int lda, const __half* B, int ldb, float beta,
                  __half* C, int ldc);
void tuned_gemm_tn(CudaContext& ctx, int m, int n, int k, float alpha, const __half* A, int lda, const __half* B,
                   int ldb, float beta, __half* C, int ldc);
// What was chosen, for the record: {shape: {algo id, candidates, best_us, default_us}}.
Json gemm_plans_json();

}  // namespace lrb::cuda
