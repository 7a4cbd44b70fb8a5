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

// Gate's and up's input factors packed into one [rz x d_model] factor for one GEMM (X read once), up's half
// starting on a 16-byte boundary of each Z row (cuBLASLt's algorithms assume aligned operands): rows
// [r_g, rg8) and [rg8 + r_u, rz) are zero. packed_unfused and flashsvd_ffn's prefill path share it.
struct PackedGateUp {
  int rg8 = 0, rz = 0;
  DeviceBuffer<__half> factor;
  void upload(const LowrankFfnProblem& p, cudaStream_t stream) {
    const int rg = p.rank(LowrankFfnProblem::gate), ru = p.rank(LowrankFfnProblem::up);
    rg8 = (rg + 7) / 8 * 8, rz = rg8 + (ru + 7) / 8 * 8;
    MatrixH packed = MatrixH::Constant(rz, p.d_model, to_half(0.0));
    packed.topRows(rg) = p.m[LowrankFfnProblem::gate].Vt;
    packed.middleRows(rg8, ru) = p.m[LowrankFfnProblem::up].Vt;
    factor = upload_half(packed, stream);
  }
};

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
