// grouped_gemm, CUDA path: the strongest off-the-shelf baseline. Per projection the gather; then ONE
// cublasGemmGroupedBatchedEx for every projection's base GEMM and every (projection, adapter group) shrink,
// and ONE for the expands (beta = 1 onto the base output); then the scatters. Planned in prepare.
#include "harness/registry.hpp"
#include "workloads/adapter_projection/device_data.hpp"

namespace lrb::cuda {
namespace {

class GroupedGemmCuda final : public CudaAdapterMethod {
 public:
  explicit GroupedGemmCuda(const Params&) {}
  void prepare(const Problem& problem, ExecContext& ctx) override {
    bind(problem, ctx);
    state_.load(*p_, *ctx_);
    std::vector<GemmProblem> shrinks, expands;
    for (std::size_t i = 0; i < p_->projections.size(); ++i) {
      if (p_->with_base)  // the base GEMMs are independent of the shrinks: one grouped call for both
        shrinks.push_back(state_.base_gemm(*p_, i));
      for (std::size_t g = 0; g < p_->layout.segments(); ++g) {
        if (!p_->layout.has_adapter(g)) continue;  // the base alone (or 0: gather zeroes those rows)
        const auto [s, e] = state_.lora_gemms(*p_, i, g);
        shrinks.push_back(s);
        expands.push_back(e);
      }
    }
    shrink_.plan(shrinks, *ctx_);
    expand_.plan(expands, *ctx_);
  }
  void run(ExecContext&) override {
    for (std::size_t i = 0; i < p_->projections.size(); ++i) state_.gather(*p_, *ctx_, i);
    shrink_.run(*ctx_);  // base GEMMs + shrinks
    expand_.run(*ctx_);
    for (std::size_t i = 0; i < p_->projections.size(); ++i) state_.scatter(*p_, *ctx_, i, y_[i].data());
  }
  Footprint footprint() const override { return state_.footprint(); }
  Json metrics() const override { return {{"grouped_gemm_problems", shrink_.size()}}; }

 private:
  LoraDeviceState state_;
  GroupedGemm shrink_, expand_;
};

}  // namespace
LRBENCH_REGISTER_BACKEND("grouped_gemm", cuda, GroupedGemmCuda);
}  // namespace lrb::cuda
