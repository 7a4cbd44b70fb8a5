// packed_unfused: gate's and up's input factors concatenated into one [r_g + r_u, d_model] matrix, so X is
// read once for both (what FlashSVD v1.5 ships); then the two output factors, the SwiGLU gate and down's
// two GEMMs, unfused.
#include "harness/registry.hpp"
#include "workloads/lowrank_ffn/method_base.hpp"

namespace lrb {
namespace {

class PackedUnfused final : public CpuLowrankFfnMethod {
 public:
  explicit PackedUnfused(const Params&) {}

  void prepare(const Problem& problem, ExecContext&) override {
    const auto& p = static_cast<const LowrankFfnProblem&>(problem);
    rg_ = p.rank(LowrankFfnProblem::gate);
    const int ru = p.rank(LowrankFfnProblem::up);
    packed_.resize(rg_ + ru, p.d_model);
    packed_.topRows(rg_) = p.m[LowrankFfnProblem::gate].Vt.cast<float>();
    packed_.bottomRows(ru) = p.m[LowrankFfnProblem::up].Vt.cast<float>();
    for (int k = 0; k < 3; ++k) US_[k] = p.m[k].US.cast<float>();
    down_vt_ = p.m[LowrankFfnProblem::down].Vt.cast<float>();
    X_ = p.X.cast<float>();
    out_.resize(p.tokens, p.d_model);
  }
  void run(ExecContext&) override {
    const MatrixF z = X_ * packed_.transpose();  // [T, r_g + r_u]: one pass over X
    MatrixF g = z.leftCols(rg_) * US_[LowrankFfnProblem::gate].transpose();
    const MatrixF u = z.rightCols(z.cols() - rg_) * US_[LowrankFfnProblem::up].transpose();
    for (Eigen::Index i = 0; i < g.size(); ++i) g.data()[i] = swiglu::gated(g.data()[i], u.data()[i]);
    const MatrixF t = g * down_vt_.transpose();
    out_.noalias() = t * US_[LowrankFfnProblem::down].transpose();
  }
  Footprint transient() const override {
    const std::uint64_t T = X_.rows(), act = 4 * T * US_[0].rows();
    return {{{"packed_z", 4 * T * packed_.rows()}, {"gate_act", act}, {"up_act", act},
             {"rank_intermediate", 4 * T * down_vt_.rows()}}};
  }
  Footprint footprint() const override {
    return {{{"factors", bytes_of(packed_) + bytes_of(US_[0]) + bytes_of(US_[1]) + bytes_of(US_[2]) + bytes_of(down_vt_)}}};
  }

 private:
  int rg_ = 0;
  MatrixF packed_, US_[3], down_vt_, X_;
};

}  // namespace

LRBENCH_DECLARE_METHOD(lowrank_ffn, "packed_unfused",
                       {.description = "gate and up input factors packed into one GEMM (FlashSVD v1.5), the rest "
                                       "unfused; materializes [T, d_ff]"});
LRBENCH_REGISTER_BACKEND("packed_unfused", cpu, PackedUnfused);
}  // namespace lrb
