// dense_merge: W'_k = W + s B_k A_k merged per adapter in prepare (HF PEFT merge_and_unload, one copy
// per adapter in the batch), then one GEMM per adapter group. The merge is timed apart (metrics.merge_s)
// and its footprint reported: a merged copy per distinct adapter.
#include <chrono>

#include "harness/registry.hpp"
#include "workloads/adapter_projection/cpu_helpers.hpp"
#include "workloads/adapter_projection/method_base.hpp"

namespace lrb {
namespace {

class DenseMerge final : public CpuAdapterMethod {
 public:
  explicit DenseMerge(const Params&) {}

  void prepare(const Problem& problem, ExecContext&) override {
    p_ = &static_cast<const AdapterProblem&>(problem);
    data_ = to_cpu(*p_);
    allocate_outputs(*p_);
    const auto t0 = std::chrono::steady_clock::now();
    merged_.assign(p_->projections.size(), {});
    for (std::size_t i = 0; i < p_->projections.size(); ++i) {
      const auto& proj = p_->projections[i];
      for (int adapter : p_->layout.segment_adapter) {
        if (adapter == kNoAdapter) {  // its tokens use W itself (run): nothing to merge
          merged_[i].emplace_back();
          continue;
        }
        const AdapterFactors& f = proj.adapters[adapter];
        MatrixF w = f.scale * (f.B.cast<float>() * f.A.cast<float>());
        if (p_->with_base) w += data_[i].W;
        merged_[i].push_back(std::move(w));
      }
    }
    merge_s_ = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  }

  void run(ExecContext&) override {
    for (std::size_t i = 0; i < data_.size(); ++i) {
      for (std::size_t g = 0; g < p_->layout.segments(); ++g) {
        const auto tokens = p_->layout.tokens(g);
        if (!p_->layout.has_adapter(g) && !p_->with_base) {  // no adapter, no base: 0
          for (int t : tokens) out_[i].row(t).setZero();
          continue;
        }
        gather_rows(data_[i].X, tokens, xg_);
        yg_.noalias() = xg_ * (p_->layout.has_adapter(g) ? merged_[i][g] : data_[i].W).transpose();
        for (std::size_t t = 0; t < tokens.size(); ++t) out_[i].row(tokens[t]) = yg_.row(static_cast<Eigen::Index>(t));
      }
    }
  }

  Footprint footprint() const override {
    std::uint64_t merged = 0;
    for (const auto& per : merged_)
      for (const auto& w : per) merged += bytes_of(w);
    return {{{"merged_weights", merged}}};
  }
  Json metrics() const override {
    return {{"merge_s", merge_s_}, {"merged_copies_per_projection", p_ ? p_->layout.adapters_used() : 0}};
  }

 private:
  const AdapterProblem* p_ = nullptr;
  std::vector<CpuProjection> data_;
  std::vector<std::vector<MatrixF>> merged_;  // [projection][group]
  MatrixF xg_, yg_;
  double merge_s_ = 0;
};

}  // namespace

LRBENCH_DECLARE_METHOD(adapter_projection, "dense_merge",
                       {.description = "merge W + s B A per adapter in the batch, one GEMM per adapter group"});
LRBENCH_REGISTER_BACKEND("dense_merge", cpu, DenseMerge);
}  // namespace lrb
