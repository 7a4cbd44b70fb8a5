#include "harness/cuda/check.hpp"

#include <stdexcept>
#include <string>

#include <fmt/format.h>

namespace lrb::cuda {

void throw_cuda_error(const char* call, cudaError_t error, const char* file, int line) {
  const std::string what = fmt::format("{} failed: {} ({}) at {}:{}", call, cudaGetErrorName(error),
                                       cudaGetErrorString(error), file, line);
  if (error == cudaErrorMemoryAllocation) throw std::runtime_error("out of device memory: " + what);
  throw std::runtime_error(what);
}

void throw_cublas_error(const char* call, cublasStatus_t status, const char* file, int line) {
  throw std::runtime_error(fmt::format("{} failed: {} ({}) at {}:{}", call, cublasGetStatusName(status),
                                       cublasGetStatusString(status), file, line));
}

}  // namespace lrb::cuda
