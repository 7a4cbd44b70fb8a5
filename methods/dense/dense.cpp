// dense: the uncompressed layer, Y = X W^T (judged against FP64 X W^T). What low-rank storage must beat.
#include "harness/registry.hpp"
#include "methods/dense/dense.hpp"
#include "workloads/lowrank_linear/method_base.hpp"

namespace lrb {
namespace {

class Dense final : public CpuLowrankMethod {
 public:
  explicit Dense(const Params&) {}

  void prepare(const Problem& problem, ExecContext&) override {
    const auto& p = static_cast<const LowrankProblem&>(problem);
    W_ = p.W.cast<float>();
    X_ = p.X.cast<float>();
    out_.resize(p.tokens, p.d_out);
  }
  void run(ExecContext&) override { out_.noalias() = X_ * W_.transpose(); }
  Footprint footprint() const override { return {{{"weights", bytes_of(W_)}}}; }
  std::optional<Floor> floor(const Problem& problem) const override {
    return dense_layer::floor(static_cast<const LowrankProblem&>(problem));
  }

 private:
  MatrixF W_, X_;
};

}  // namespace

LRBENCH_DECLARE_METHOD(lowrank_linear, "dense",
                       {.description = "uncompressed GEMM Y = X W^T (baseline)", .traits = {.target = "full"}});
LRBENCH_REGISTER_BACKEND("dense", cpu, Dense);
}  // namespace lrb
