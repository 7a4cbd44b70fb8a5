// base_only, CUDA path: one cuBLAS fp16 GEMM (fp32 accumulation) per projection.
#include "harness/registry.hpp"
#include "methods/base_only/base_only.hpp"
#include "workloads/adapter_projection/device_data.hpp"

namespace lrb::cuda {
namespace {

class BaseOnlyCuda final : public CudaAdapterMethod {
 public:
  explicit BaseOnlyCuda(const Params& p) : schedule_(BaseGemms::parse(p.string("schedule"))) {}

  Support can_run(const Point& point, Backend) const override {
    return base_only::schedule_support(schedule_ == BaseGemms::Schedule::cutlass_grouped, point,
                                       kernels::GroupedGemmSm90a::unavailable_reason());
  }

  void prepare(const Problem& problem, ExecContext& ctx) override {
    bind(problem, ctx);
    w_.clear();
    x_.clear();
    for (const auto& proj : p_->projections) {
      w_.push_back(upload_half(proj.W, ctx_->stream()));
      x_.push_back(upload_half(proj.X, ctx_->stream()));
    }
    std::vector<GemmProblem> all;
    for (std::size_t i = 0; i < w_.size(); ++i) {
      const auto& proj = p_->projections[i];
      all.push_back({proj.d_out, p_->batch, proj.d_in, w_[i].data(), proj.d_in, x_[i].data(), proj.d_in, y_[i].data(),
                     proj.d_out, 1.0f, 0.0f});
    }
    base_.plan(std::move(all), schedule_, *ctx_);
  }
  void run(ExecContext&) override { base_.run(*ctx_); }
  Footprint footprint() const override { return {{{"base_weights", bytes_of(w_)}}}; }
  Json metrics() const override { return {{"base_schedule", base_.describe()}}; }
  std::optional<Floor> floor(const Problem& problem) const override {
    return base_only::floor(static_cast<const AdapterProblem&>(problem));
  }

 private:
  BaseGemms::Schedule schedule_;
  std::vector<DeviceBuffer<__half>> w_, x_;
  BaseGemms base_;
};

}  // namespace
LRBENCH_REGISTER_BACKEND("base_only", cuda, BaseOnlyCuda);
}  // namespace lrb::cuda
