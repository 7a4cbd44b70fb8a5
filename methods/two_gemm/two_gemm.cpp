// two_gemm: T = X Vt^T, then Y = T US^T. The rank-r intermediate T is materialized per run (what an
// unfused framework does), so the memory pass sees it as transient memory.
#include "harness/registry.hpp"
#include "workloads/lowrank_linear/method_base.hpp"

namespace lrb {
namespace {

class TwoGemm final : public CpuLowrankFactorsMethod {
 public:
  explicit TwoGemm(const Params&) {}

  void run(ExecContext&) override {
    const MatrixF t = X_ * Vt_.transpose();  // tokens x r, allocated here on purpose (transient)
    out_.noalias() = t * US_.transpose();
  }
  Footprint transient() const override { return {{{"rank_intermediate", 4ull * X_.rows() * Vt_.rows()}}}; }
};

}  // namespace

LRBENCH_DECLARE_METHOD(lowrank_linear, "two_gemm",
                       {.description = "two GEMMs through the rank-r intermediate: (X V_r) (U_r S_r)^T"});
LRBENCH_REGISTER_BACKEND("two_gemm", cpu, TwoGemm);
}  // namespace lrb
