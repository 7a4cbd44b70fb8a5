// dense_ffn, CUDA path: three tuned cuBLASLt GEMMs and the SwiGLU kernel ([T, d_ff] gate and up activations
// in stream-ordered scratch: transient memory).
#include "harness/registry.hpp"
#include "kernels/lowrank_ffn/swiglu.cuh"
#include "methods/dense_ffn/dense_ffn.hpp"
#include "workloads/lowrank_ffn/device_data.hpp"

namespace lrb::cuda {
namespace {

class DenseFfnCuda final : public CudaLowrankFfnMethod {
 public:
  explicit DenseFfnCuda(const Params&) {}
  void prepare(const Problem& problem, ExecContext& ctx) override {
    bind(problem, ctx);
    for (int k = 0; k < 3; ++k) w_[k] = upload_half(p_->m[k].W, ctx_->stream());
    DeviceBuffer<__half> g(static_cast<std::size_t>(p_->tokens) * p_->d_ff), u(g.size());
    pass(true, g.data(), u.data());
  }
  void run(ExecContext&) override {
    const std::size_t n = static_cast<std::size_t>(p_->tokens) * p_->d_ff;
    StreamBuffer<__half> g(n, ctx_->stream()), u(n, ctx_->stream());
    pass(false, g.data(), u.data());
  }
  Footprint footprint() const override { return {{{"weights", w_[0].bytes() + w_[1].bytes() + w_[2].bytes()}}}; }
  Footprint transient() const override {
    const std::uint64_t act = 2ull * p_->tokens * p_->d_ff;  // [T, d_ff] fp16
    return {{{"gate_act", act}, {"up_act", act}}};
  }
  std::optional<Floor> floor(const Problem& problem) const override {
    return dense_ffn::floor(static_cast<const LowrankFfnProblem&>(problem));
  }

 private:
  void pass(bool plan, __half* g, __half* u) {
    const int d = p_->d_model, dff = p_->d_ff;
    linear(*ctx_, plan, w_[LowrankFfnProblem::gate].data(), dff, d, x_.data(), d, g, dff, p_->tokens);
    linear(*ctx_, plan, w_[LowrankFfnProblem::up].data(), dff, d, x_.data(), d, u, dff, p_->tokens);
    kernels::launch_swiglu(g, dff, u, dff, g, dff, p_->tokens, dff, ctx_->stream());
    LRB_CUDA_CHECK_LAUNCH();
    linear(*ctx_, plan, w_[LowrankFfnProblem::down].data(), d, dff, g, dff, y_.data(), d, p_->tokens);
  }
  DeviceBuffer<__half> w_[3];
};

}  // namespace
LRBENCH_REGISTER_BACKEND("dense_ffn", cuda, DenseFfnCuda);
}  // namespace lrb::cuda
