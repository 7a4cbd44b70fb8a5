// dense, CUDA path: one cuBLAS fp16 GEMM, Y = X W^T.
#include "harness/cuda/lt_gemm.hpp"
#include "harness/registry.hpp"
#include "methods/dense/dense.hpp"
#include "workloads/lowrank_linear/device_data.hpp"

namespace lrb::cuda {
namespace {

class DenseCuda final : public CudaLowrankMethod {
 public:
  explicit DenseCuda(const Params&) {}
  void prepare(const Problem& problem, ExecContext& ctx) override {
    bind(problem, ctx);
    w_ = upload_half(p_->W, ctx_->stream());
    plan_gemm_tn(*ctx_, p_->d_out, p_->tokens, p_->d_in, w_.data(), p_->d_in, x_.data(), p_->d_in, 0.0f, y_.data(),
                 p_->d_out);
  }
  void run(ExecContext&) override {
    tuned_gemm_tn(*ctx_, p_->d_out, p_->tokens, p_->d_in, 1.0f, w_.data(), p_->d_in, x_.data(), p_->d_in, 0.0f, y_.data(),
            p_->d_out);
  }
  Footprint footprint() const override { return {{{"weights", w_.bytes()}}}; }
  std::optional<Floor> floor(const Problem& problem) const override {
    return dense_layer::floor(static_cast<const LowrankProblem&>(problem));
  }

 private:
  DeviceBuffer<__half> w_;
};

}  // namespace
LRBENCH_REGISTER_BACKEND("dense", cuda, DenseCuda);
}  // namespace lrb::cuda
