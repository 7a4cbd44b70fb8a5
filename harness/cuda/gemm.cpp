#include "harness/cuda/gemm.hpp"

#include "harness/cuda/fill.cuh"

namespace lrb::cuda {

void gemm_tn(CudaContext& ctx, int m, int n, int k, float alpha, const __half* A, int lda, const __half* B, int ldb,
             float beta, __half* C, int ldc) {
  if (m == 0 || n == 0) return;
  LRB_CUBLAS_CHECK(cublasGemmEx(ctx.cublas(), CUBLAS_OP_T, CUBLAS_OP_N, m, n, k, &alpha, A, CUDA_R_16F, lda, B,
                                CUDA_R_16F, ldb, &beta, C, CUDA_R_16F, ldc, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT));
}

void gemm_nn(CudaContext& ctx, int m, int n, int k, float alpha, const __half* A, int lda, const __half* B, int ldb,
             float beta, __half* C, int ldc) {
  if (m == 0 || n == 0) return;
  LRB_CUBLAS_CHECK(cublasGemmEx(ctx.cublas(), CUBLAS_OP_N, CUBLAS_OP_N, m, n, k, &alpha, A, CUDA_R_16F, lda, B,
                                CUDA_R_16F, ldb, &beta, C, CUDA_R_16F, ldc, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT));
}

void GroupedGemm::plan(const std::vector<GemmProblem>& problems, CudaContext& ctx) {
  *this = GroupedGemm();
  for (const auto& p : problems) {
    if (p.m == 0 || p.n == 0) continue;
    m_.push_back(p.m);
    n_.push_back(p.n);
    k_.push_back(p.k);
    lda_.push_back(p.lda);
    ldb_.push_back(p.ldb);
    ldc_.push_back(p.ldc);
    alpha_.push_back(p.alpha);
    beta_.push_back(p.beta);
    ta_.push_back(CUBLAS_OP_T);
    tb_.push_back(CUBLAS_OP_N);
    a_.push_back(p.A);
    b_.push_back(p.B);
    c_.push_back(p.C);
    group_size_.push_back(1);
  }
  if (m_.empty()) return;
  a_dev_.upload(a_.data(), a_.size(), ctx.stream());
  b_dev_.upload(b_.data(), b_.size(), ctx.stream());
  c_dev_.upload(c_.data(), c_.size(), ctx.stream());
  ctx.synchronize();  // the host vectors may change before the copies would otherwise finish
}

void GroupedGemm::run(CudaContext& ctx) const {
  if (m_.empty()) return;
  LRB_CUBLAS_CHECK(cublasGemmGroupedBatchedEx(
      ctx.cublas(), ta_.data(), tb_.data(), m_.data(), n_.data(), k_.data(), alpha_.data(), a_dev_.data(), CUDA_R_16F,
      lda_.data(), b_dev_.data(), CUDA_R_16F, ldb_.data(), beta_.data(), c_dev_.data(), CUDA_R_16F,
      ldc_.data(), static_cast<int>(m_.size()), group_size_.data(), CUBLAS_COMPUTE_32F));
}

void fill_random_half(__half* data, std::size_t n, std::uint64_t seed, cudaStream_t stream) {
  kernels::launch_fill_random_half(data, n, seed, stream);
  LRB_CUDA_CHECK_LAUNCH();
}

void poison_half(__half* data, std::size_t n, cudaStream_t stream) {
  LRB_CUDA_CHECK(cudaMemsetAsync(data, 0xFF, n * sizeof(__half), stream));
}

}  // namespace lrb::cuda
