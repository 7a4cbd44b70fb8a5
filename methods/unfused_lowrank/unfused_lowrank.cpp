// unfused_lowrank: each of gate, up and down as two GEMMs through its rank-r intermediate, the SwiGLU gate
// elementwise between them; [T, d_ff] gate and up activations materialized (what an unfused framework does).
#include "harness/registry.hpp"
#include "workloads/lowrank_ffn/method_base.hpp"

namespace lrb {
namespace {

class UnfusedLowrank final : public CpuLowrankFfnFactorsMethod {
 public:
  explicit UnfusedLowrank(const Params&) {}

  void run(ExecContext&) override {
    const auto apply = [&](int k, const MatrixF& in) {
      const MatrixF t = in * Vt_[k].transpose();  // [T, r], transient
      return MatrixF(t * US_[k].transpose());
    };
    MatrixF g = apply(LowrankFfnProblem::gate, X_);
    const MatrixF u = apply(LowrankFfnProblem::up, X_);
    for (Eigen::Index i = 0; i < g.size(); ++i) g.data()[i] = swiglu::gated(g.data()[i], u.data()[i]);
    out_.noalias() = apply(LowrankFfnProblem::down, g);
  }
  // At down's GEMMs: the gate (now h) and up activations, down's [T, r] intermediate and its output before
  // the copy into Y.
  Footprint transient() const override {
    const std::uint64_t T = X_.rows(), act = 4 * T * US_[0].rows();
    return {{{"gate_act", act}, {"up_act", act}, {"rank_intermediate", 4 * T * Vt_[2].rows()},
             {"output_temp", 4 * T * out_.cols()}}};
  }
};

}  // namespace

LRBENCH_DECLARE_METHOD(lowrank_ffn, "unfused_lowrank",
                       {.description = "low-rank gate, up and down as six GEMMs and an elementwise SwiGLU; "
                                       "materializes [T, d_ff]"});
LRBENCH_REGISTER_BACKEND("unfused_lowrank", cpu, UnfusedLowrank);
}  // namespace lrb
