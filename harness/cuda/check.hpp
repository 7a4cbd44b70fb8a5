#pragma once
// Every CUDA runtime and cuBLAS call is checked; the exception names the call and the error.
#include <cublas_v2.h>
#include <cuda_runtime.h>

namespace lrb::cuda {

[[noreturn]] void throw_cuda_error(const char* call, cudaError_t error, const char* file, int line);
[[noreturn]] void throw_cublas_error(const char* call, cublasStatus_t status, const char* file, int line);

}  // namespace lrb::cuda

#define LRB_CUDA_CHECK(call)                                                              \
  do {                                                                                    \
    const cudaError_t lrb_error_ = (call);                                                \
    if (lrb_error_ != cudaSuccess) ::lrb::cuda::throw_cuda_error(#call, lrb_error_, __FILE__, __LINE__); \
  } while (0)

#define LRB_CUBLAS_CHECK(call)                                                              \
  do {                                                                                      \
    const cublasStatus_t lrb_status_ = (call);                                              \
    if (lrb_status_ != CUBLAS_STATUS_SUCCESS)                                               \
      ::lrb::cuda::throw_cublas_error(#call, lrb_status_, __FILE__, __LINE__);              \
  } while (0)

// After a kernel launch: launch-configuration errors surface here, not at the next call.
#define LRB_CUDA_CHECK_LAUNCH() LRB_CUDA_CHECK(cudaGetLastError())
