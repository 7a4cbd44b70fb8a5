// base_only: Y = X W^T without any adapter. The floor reference of adapter_projection: what serving
// the base model alone costs. Judged against the FP64 base GEMM, not the adapted output.
#include "harness/registry.hpp"
#include "methods/base_only/base_only.hpp"
#include "workloads/adapter_projection/cpu_helpers.hpp"
#include "workloads/adapter_projection/method_base.hpp"

namespace lrb {
namespace {

class BaseOnly final : public CpuAdapterMethod {
 public:
  explicit BaseOnly(const Params&) {}  // the CPU path has one schedule

  void prepare(const Problem& problem, ExecContext&) override {
    const auto& p = static_cast<const AdapterProblem&>(problem);
    data_ = to_cpu(p);
    allocate_outputs(p);
  }
  void run(ExecContext&) override {
    for (std::size_t i = 0; i < data_.size(); ++i) out_[i].noalias() = data_[i].X * data_[i].W.transpose();
  }
  Footprint footprint() const override { return {{{"base_weights", footprint_of(data_, true)}}}; }
  std::optional<Floor> floor(const Problem& problem) const override {
    return base_only::floor(static_cast<const AdapterProblem&>(problem));
  }

 private:
  std::vector<CpuProjection> data_;
};

}  // namespace

LRBENCH_DECLARE_METHOD(adapter_projection, "base_only",
                       {.description = "base GEMM alone, no adapter (floor reference)",
                        .params = base_only::params(),
                        .traits = {.target = "base"},
                        .supports = [](const Point& point, const Params&) { return base_only::can_run(point); },
                        .conformance_params = {Json{{"schedule", "batched"}}, Json{{"schedule", "per_projection"}},
                                               Json{{"schedule", "cutlass_grouped"}}}});
LRBENCH_REGISTER_BACKEND("base_only", cpu, BaseOnly);
}  // namespace lrb
