// unfused_lowrank, CUDA path: six tuned cuBLASLt GEMMs and the SwiGLU kernel; the [T, r] and [T, d_ff]
// intermediates in stream-ordered scratch, so the memory pass sees them as transient memory.
#include <algorithm>

#include "harness/registry.hpp"
#include "kernels/lowrank_ffn/swiglu.cuh"
#include "workloads/lowrank_ffn/device_data.hpp"

namespace lrb::cuda {
namespace {

class UnfusedLowrankCuda final : public CudaLowrankFfnMethod {
 public:
  explicit UnfusedLowrankCuda(const Params&) {}
  void prepare(const Problem& problem, ExecContext& ctx) override {
    bind(problem, ctx);
    for (int k = 0; k < 3; ++k)
      us_[k] = upload_half(p_->m[k].US, ctx_->stream()), vt_[k] = upload_half(p_->m[k].Vt, ctx_->stream());
    DeviceBuffer<__half> t(static_cast<std::size_t>(p_->tokens) * max_rank()),
        g(static_cast<std::size_t>(p_->tokens) * p_->d_ff), u(g.size());
    pass(true, t.data(), g.data(), u.data());
  }
  void run(ExecContext&) override {
    const cudaStream_t s = ctx_->stream();
    StreamBuffer<__half> t(static_cast<std::size_t>(p_->tokens) * max_rank(), s),
        g(static_cast<std::size_t>(p_->tokens) * p_->d_ff, s), u(static_cast<std::size_t>(p_->tokens) * p_->d_ff, s);
    pass(false, t.data(), g.data(), u.data());
  }
  Footprint transient() const override {
    const std::uint64_t T = p_->tokens, act = 2 * T * p_->d_ff;
    return {{{"gate_act", act}, {"up_act", act}, {"rank_intermediate", 2 * T * max_rank()}}};
  }
  Footprint footprint() const override {
    std::size_t b = 0;
    for (int k = 0; k < 3; ++k) b += us_[k].bytes() + vt_[k].bytes();
    return {{{"factors", b}}};
  }

 private:
  int max_rank() const { return std::max({p_->rank(LowrankFfnProblem::gate), p_->rank(LowrankFfnProblem::up), p_->rank(LowrankFfnProblem::down)}); }
  // One low-rank matrix: out = (in Vt^T) US^T through t.
  void apply(bool plan, int k, const __half* in, int d_in, __half* t, __half* out) {
    const int r = p_->m[k].rank(), d_out = static_cast<int>(p_->m[k].US.rows());
    linear(*ctx_, plan, vt_[k].data(), r, d_in, in, d_in, t, r, p_->tokens);
    linear(*ctx_, plan, us_[k].data(), d_out, r, t, r, out, d_out, p_->tokens);
  }
  void pass(bool plan, __half* t, __half* g, __half* u) {
    const int d = p_->d_model, dff = p_->d_ff;
    apply(plan, LowrankFfnProblem::gate, x_.data(), d, t, g);
    apply(plan, LowrankFfnProblem::up, x_.data(), d, t, u);
    kernels::launch_swiglu(g, dff, u, dff, g, dff, p_->tokens, dff, ctx_->stream());
    LRB_CUDA_CHECK_LAUNCH();
    apply(plan, LowrankFfnProblem::down, g, dff, t, y_.data());
  }
  DeviceBuffer<__half> us_[3], vt_[3];
};

}  // namespace
LRBENCH_REGISTER_BACKEND("unfused_lowrank", cuda, UnfusedLowrankCuda);
}  // namespace lrb::cuda
