// two_gemm, CUDA path: T = X Vt^T into stream-ordered scratch (the rank-r intermediate goes to HBM and
// shows as transient memory), then Y = T US^T. Two cuBLAS fp16 GEMMs.
#include "harness/cuda/lt_gemm.hpp"
#include "harness/registry.hpp"
#include "workloads/lowrank_linear/device_data.hpp"

namespace lrb::cuda {
namespace {

class TwoGemmCuda final : public CudaLowrankMethod {
 public:
  explicit TwoGemmCuda(const Params&) {}
  void prepare(const Problem& problem, ExecContext& ctx) override {
    bind(problem, ctx);
    us_ = upload_half(p_->US, ctx_->stream());
    vt_ = upload_half(p_->Vt, ctx_->stream());
    DeviceBuffer<__half> t(static_cast<std::size_t>(p_->tokens) * p_->rank);
    plan_gemm_tn(*ctx_, p_->rank, p_->tokens, p_->d_in, vt_.data(), p_->d_in, x_.data(), p_->d_in, 0.0f, t.data(),
                 p_->rank);
    plan_gemm_tn(*ctx_, p_->d_out, p_->tokens, p_->rank, us_.data(), p_->rank, t.data(), p_->rank, 0.0f, y_.data(),
                 p_->d_out);
  }
  void run(ExecContext&) override {
    const int r = p_->rank;
    StreamBuffer<__half> t(static_cast<std::size_t>(p_->tokens) * r, ctx_->stream());
    // T [tokens x r] = X Vt^T: column-major T^T [r x tokens] = Vt X^T.
    tuned_gemm_tn(*ctx_, r, p_->tokens, p_->d_in, 1.0f, vt_.data(), p_->d_in, x_.data(), p_->d_in, 0.0f, t.data(), r);
    // Y [tokens x d_out] = T US^T: column-major Y^T = US T^T, US row-major d_out x r (column-major r x d_out).
    tuned_gemm_tn(*ctx_, p_->d_out, p_->tokens, r, 1.0f, us_.data(), r, t.data(), r, 0.0f, y_.data(), p_->d_out);
  }
  Footprint footprint() const override { return {{{"factors", us_.bytes() + vt_.bytes()}}}; }
  Footprint transient() const override { return {{{"rank_intermediate", 2ull * p_->tokens * p_->rank}}}; }

 private:
  DeviceBuffer<__half> us_, vt_;
};

}  // namespace
LRBENCH_REGISTER_BACKEND("two_gemm", cuda, TwoGemmCuda);
}  // namespace lrb::cuda
