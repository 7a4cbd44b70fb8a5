#pragma once
// The CUDA backend's ExecContext: one non-blocking stream, cuBLAS and cuBLASLt handles with a fixed
// workspace (so cuBLAS never allocates during graph capture). How it is measured: cuda_measurement.cpp.
#include <cublasLt.h>
#include <cublas_v2.h>

#include <string>
#include <vector>

#include "harness/cuda/device_buffer.hpp"
#include "harness/cuda/raii.hpp"
#include "harness/exec_context.hpp"

namespace lrb::cuda {

class CudaContext final : public ExecContext {
 public:
  CudaContext();
  cudaStream_t stream() const { return stream_.get(); }
  cublasHandle_t cublas() const { return cublas_.get(); }
  cublasLtHandle_t cublaslt() const { return cublaslt_.get(); }
  void* lt_workspace() { return lt_workspace_.data(); }
  std::size_t lt_workspace_bytes() const { return lt_workspace_.bytes(); }

  void synchronize() override;
  void fill_bytes(void* dst, unsigned char value, std::size_t bytes, Memory where) override;
  void copy_to_host(void* dst, const void* src, std::size_t bytes, Memory where) override;

 private:
  Stream stream_;
  CublasHandle cublas_;
  CublasLtHandle cublaslt_;
  DeviceBuffer<unsigned char> workspace_, lt_workspace_;
};

// The context a method was given, as a CudaContext (throws if a CUDA path got the CPU context).
CudaContext& cuda_context(ExecContext& ctx);

}  // namespace lrb::cuda
