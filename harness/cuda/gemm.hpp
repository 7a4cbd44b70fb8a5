#pragma once
// The cuBLAS calls the CUDA paths share: fp16 operands and outputs, fp32 accumulation.
#include <cuda_fp16.h>

#include <cstddef>
#include <cstdint>
#include <vector>

#include "harness/cuda/cuda_context.hpp"

namespace lrb::cuda {

// Column-major C[m x n] = alpha * A^T B + beta * C, where A is stored k x m (lda >= k) and B k x n
// (ldb >= k). With row-major matrices this is Y[n x m] = X[n x k] W[m x k]^T: the "TN" GEMM every
// projection here is (W row-major d_out x d_in, X row-major tokens x d_in).
void gemm_tn(CudaContext& ctx, int m, int n, int k, float alpha, const __half* A, int lda, const __half* B, int ldb,
             float beta, __half* C, int ldc);

// Batched TN GEMMs of different sizes in one cuBLAS call (cublasGemmGroupedBatchedEx), one group per
// problem: C_i = alpha_i * A_i^T B_i + beta_i * C_i.
struct GemmProblem {
  int m, n, k;
  const __half* A;
  int lda;
  const __half* B;
  int ldb;
  __half* C;
  int ldc;
  float alpha, beta;
};
class GroupedGemm {
 public:
  // Plans the call: sizes on the host, pointer arrays uploaded to the device (cuBLAS reads them there);
  // `run` reuses the plan and only launches.
  void plan(const std::vector<GemmProblem>& problems, CudaContext& ctx);
  void run(CudaContext& ctx) const;
  std::size_t size() const { return m_.size(); }

 private:
  std::vector<int> m_, n_, k_, lda_, ldb_, ldc_, group_size_;
  std::vector<float> alpha_, beta_;
  std::vector<cublasOperation_t> ta_, tb_;
  std::vector<const void*> a_, b_;
  std::vector<void*> c_;
  DeviceBuffer<const void*> a_dev_, b_dev_;
  DeviceBuffer<void*> c_dev_;
};

// Column-major C[m x n] = alpha * A B + beta * C with A stored m x k (lda >= m) and B k x n: used to merge
// s B A into a row-major weight (W^T += s A^T B^T in column-major terms).
void gemm_nn(CudaContext& ctx, int m, int n, int k, float alpha, const __half* A, int lda, const __half* B, int ldb,
             float beta, __half* C, int ldc);

// Fills a fp16 buffer with deterministic pseudo-random values in [-1, 1) (ceilings; never zeros).
void fill_random_half(__half* data, std::size_t n, std::uint64_t seed, cudaStream_t stream);
// Sets every byte to 0xFF: fp16 NaN everywhere (poisoning before the correctness pass).
void poison_half(__half* data, std::size_t n, cudaStream_t stream);

}  // namespace lrb::cuda
