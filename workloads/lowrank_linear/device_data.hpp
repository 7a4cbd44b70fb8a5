#pragma once
// Shared pieces of the lowrank_linear CUDA paths (included by *_cuda.cpp files only).
#include <cuda_fp16.h>

#include "harness/cuda/cuda_context.hpp"
#include "harness/cuda/device_buffer.hpp"
#include "harness/cuda/gemm.hpp"
#include "workloads/lowrank_linear/method_base.hpp"

namespace lrb::cuda {

class CudaLowrankMethod : public LowrankLinearMethod {
 public:
  std::vector<OutputView> outputs() override {
    return {{"Y", Memory::device, DType::f16, y_.data(), static_cast<std::size_t>(p_->tokens),
             static_cast<std::size_t>(p_->d_out), y_.guard_elements()}};
  }

 protected:
  void bind(const Problem& problem, ExecContext& ctx) {
    p_ = &static_cast<const LowrankProblem&>(problem);
    ctx_ = &cuda_context(ctx);
    x_ = upload_half(p_->X, ctx_->stream());
    allocate_output(y_, static_cast<std::size_t>(p_->tokens) * p_->d_out);
  }
  const LowrankProblem* p_ = nullptr;
  CudaContext* ctx_ = nullptr;
  DeviceBuffer<__half> x_, y_;
};

}  // namespace lrb::cuda
