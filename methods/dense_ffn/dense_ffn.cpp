// dense_ffn: the uncompressed SwiGLU FFN (judged against the FP64 uncompressed FFN): what the low-rank FFNs
// must beat in time and memory.
#include "harness/registry.hpp"
#include "methods/dense_ffn/dense_ffn.hpp"
#include "workloads/lowrank_ffn/method_base.hpp"

namespace lrb {
namespace {

class DenseFfn final : public CpuLowrankFfnMethod {
 public:
  explicit DenseFfn(const Params&) {}

  void prepare(const Problem& problem, ExecContext&) override {
    const auto& p = static_cast<const LowrankFfnProblem&>(problem);
    for (int k = 0; k < 3; ++k) W_[k] = p.m[k].W.cast<float>();
    X_ = p.X.cast<float>();
    out_.resize(p.tokens, p.d_model);
  }
  void run(ExecContext&) override {
    // [T, d_ff] gate and up activations, allocated here on purpose (an unfused framework's transients).
    MatrixF g = X_ * W_[LowrankFfnProblem::gate].transpose();
    const MatrixF u = X_ * W_[LowrankFfnProblem::up].transpose();
    for (Eigen::Index i = 0; i < g.size(); ++i) g.data()[i] = swiglu::gated(g.data()[i], u.data()[i]);
    out_.noalias() = g * W_[LowrankFfnProblem::down].transpose();
  }
  Footprint footprint() const override { return {{{"weights", bytes_of(W_[0]) + bytes_of(W_[1]) + bytes_of(W_[2])}}}; }
  Footprint transient() const override {
    const std::uint64_t act = 4ull * X_.rows() * W_[0].rows();  // [T, d_ff] fp32
    return {{{"gate_act", act}, {"up_act", act}}};
  }
  std::optional<Floor> floor(const Problem& problem) const override {
    return dense_ffn::floor(static_cast<const LowrankFfnProblem&>(problem));
  }

 private:
  MatrixF W_[3], X_;
};

}  // namespace

LRBENCH_DECLARE_METHOD(lowrank_ffn, "dense_ffn",
                       {.description = "the uncompressed SwiGLU FFN: three GEMMs and the gate (baseline)",
                        .traits = {.target = "full"}});
LRBENCH_REGISTER_BACKEND("dense_ffn", cpu, DenseFfn);
}  // namespace lrb
