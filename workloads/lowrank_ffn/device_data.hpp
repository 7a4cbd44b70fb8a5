#pragma once
// Shared pieces of the lowrank_ffn CUDA paths (included by *_cuda.cpp files only).
#include <cuda_fp16.h>

#include "harness/cuda/cuda_context.hpp"
#include "harness/cuda/device_buffer.hpp"
#include "harness/cuda/lt_gemm.hpp"
#include "workloads/lowrank_ffn/method_base.hpp"

namespace lrb::cuda {

// out [T x n] (row-major, ld_out) = in [T x k] (row-major, ld_in) W^T, W [n x k] row-major: the column-major
// TN GEMM out^T = W in^T. `plan`: tune it (prepare, real buffers) instead of running it.
inline void linear(CudaContext& ctx, bool plan, const __half* W, int n, int k, const __half* in, int ld_in, __half* out,
                   int ld_out, int tokens) {
  if (plan) plan_gemm_tn(ctx, n, tokens, k, W, k, in, ld_in, 0.0f, out, ld_out);
  else tuned_gemm_tn(ctx, n, tokens, k, 1.0f, W, k, in, ld_in, 0.0f, out, ld_out);
}

class CudaLowrankFfnMethod : public LowrankFfnMethod {
 public:
  std::vector<OutputView> outputs() override {
    return {{"Y", Memory::device, DType::f16, y_.data(), static_cast<std::size_t>(p_->tokens),
             static_cast<std::size_t>(p_->d_model), y_.guard_elements()}};
  }

 protected:
  void bind(const Problem& problem, ExecContext& ctx) {
    p_ = &static_cast<const LowrankFfnProblem&>(problem);
    ctx_ = &cuda_context(ctx);
    x_ = upload_half(p_->X, ctx_->stream());
    allocate_output(y_, static_cast<std::size_t>(p_->tokens) * p_->d_model);
  }
  const LowrankFfnProblem* p_ = nullptr;
  CudaContext* ctx_ = nullptr;
  DeviceBuffer<__half> x_, y_;
};

}  // namespace lrb::cuda
