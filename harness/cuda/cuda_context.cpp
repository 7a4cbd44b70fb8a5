#include "harness/cuda/cuda_context.hpp"

#include <stdexcept>

namespace lrb::cuda {

namespace {
constexpr std::size_t kCublasWorkspace = 32u << 20;
}  // namespace

CudaContext::CudaContext() : ExecContext(Backend::cuda), stream_(Stream::create()) {
  cublasHandle_t h;
  LRB_CUBLAS_CHECK(cublasCreate(&h));
  cublas_ = CublasHandle(h);
  LRB_CUBLAS_CHECK(cublasSetStream(h, stream()));
  workspace_.allocate(kCublasWorkspace);
  LRB_CUBLAS_CHECK(cublasSetWorkspace(h, workspace_.data(), workspace_.bytes()));
  cublasLtHandle_t lt;
  LRB_CUBLAS_CHECK(cublasLtCreate(&lt));
  cublaslt_ = CublasLtHandle(lt);
  lt_workspace_.allocate(kCublasWorkspace);
  // Zeroed once: cuBLASLt's split-K reduction reads workspace words its GEMM kernels wrote through TMA,
  // which compute-sanitizer's initcheck does not see, so an unzeroed workspace drowns real reports.
  workspace_.zero(stream());
  lt_workspace_.zero(stream());
  synchronize();
}

void CudaContext::synchronize() { LRB_CUDA_CHECK(cudaStreamSynchronize(stream())); }

CudaContext& cuda_context(ExecContext& ctx) {
  auto* c = dynamic_cast<CudaContext*>(&ctx);
  if (!c) throw std::logic_error("a CUDA path was given a non-CUDA context");
  return *c;
}

void CudaContext::fill_bytes(void* dst, unsigned char value, std::size_t bytes, Memory where) {
  if (where == Memory::host) return ExecContext::fill_bytes(dst, value, bytes, where);
  LRB_CUDA_CHECK(cudaMemsetAsync(dst, value, bytes, stream()));
  synchronize();
}

void CudaContext::copy_to_host(void* dst, const void* src, std::size_t bytes, Memory where) {
  if (where == Memory::host) return ExecContext::copy_to_host(dst, src, bytes, where);
  LRB_CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToHost, stream()));
  synchronize();
}

}  // namespace lrb::cuda
