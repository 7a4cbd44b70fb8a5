// sequential_lora, CUDA path: per projection, gather tokens by adapter, the base GEMM, then per adapter
// group two cuBLAS GEMMs (shrink to rank r, expand with beta = 1 onto the base output), then scatter.
// In graph mode the whole pass is one CUDA graph.
#include "harness/registry.hpp"
#include "workloads/adapter_projection/device_data.hpp"

namespace lrb::cuda {
namespace {

class SequentialLoraCuda final : public CudaAdapterMethod {
 public:
  explicit SequentialLoraCuda(const Params&) {}
  void prepare(const Problem& problem, ExecContext& ctx) override {
    bind(problem, ctx);
    state_.load(*p_, *ctx_);
    state_.tune_sequential_gemms(*p_, *ctx_);
  }
  void run(ExecContext&) override {
    for (std::size_t i = 0; i < p_->projections.size(); ++i) {
      state_.gather_and_base(*p_, *ctx_, i);
      for (std::size_t g = 0; g < p_->layout.segments(); ++g) {
        if (!p_->layout.has_adapter(g)) continue;  // the base alone (or 0: gather zeroed those rows)
        const auto [shrink, expand] = state_.lora_gemms(*p_, i, g);
        run_gemm(*ctx_, shrink);
        run_gemm(*ctx_, expand);
      }
      state_.scatter(*p_, *ctx_, i, y_[i].data());
    }
  }
  Footprint footprint() const override { return state_.footprint(); }

 private:
  LoraDeviceState state_;
};

}  // namespace
LRBENCH_REGISTER_BACKEND("sequential_lora", cuda, SequentialLoraCuda);
}  // namespace lrb::cuda
