#pragma once
// The CPU path of sequential_lora: the base GEMM, then per adapter group two small GEMMs,
// T = X_g A^T and Y_g += s T B^T. grouped_gemm's CPU path is the same arithmetic.
#include "workloads/adapter_projection/cpu_helpers.hpp"
#include "workloads/adapter_projection/method_base.hpp"

namespace lrb {

class SequentialLoraCpu : public CpuAdapterMethod {
 public:
  explicit SequentialLoraCpu(const Params&) {}

  void prepare(const Problem& problem, ExecContext&) override {
    p_ = &static_cast<const AdapterProblem&>(problem);
    data_ = to_cpu(*p_);
    allocate_outputs(*p_);
    a_.assign(p_->projections.size(), {});
    b_.assign(p_->projections.size(), {});
    for (std::size_t i = 0; i < p_->projections.size(); ++i)
      for (const auto& f : p_->projections[i].adapters) {
        a_[i].push_back(f.A.cast<float>());
        b_[i].push_back(f.B.cast<float>());
      }
  }

  void run(ExecContext&) override {
    for (std::size_t i = 0; i < data_.size(); ++i) {
      if (p_->with_base) out_[i].noalias() = data_[i].X * data_[i].W.transpose();
      else out_[i].setZero();
      const auto& adapters = p_->projections[i].adapters;
      const AdapterBatch& b = p_->layout;
      for (std::size_t g = 0; g < b.segments(); ++g) {
        if (!b.has_adapter(g)) continue;  // tokens with no adapter: the base (or 0) already there
        const int k = b.segment_adapter[g];
        const auto tokens = b.tokens(g);
        gather_rows(data_[i].X, tokens, xg_);
        t_.noalias() = xg_ * a_[i][k].transpose();
        yg_.noalias() = (adapters[k].scale * t_) * b_[i][k].transpose();
        for (std::size_t t = 0; t < tokens.size(); ++t) out_[i].row(tokens[t]) += yg_.row(static_cast<Eigen::Index>(t));
      }
    }
  }

  Footprint footprint() const override {
    std::uint64_t adapters = 0;
    for (std::size_t i = 0; i < a_.size(); ++i)
      for (std::size_t k = 0; k < a_[i].size(); ++k) adapters += bytes_of(a_[i][k]) + bytes_of(b_[i][k]);
    return {{{"base_weights", footprint_of(data_, true)}, {"adapters", adapters}}};
  }

 private:
  const AdapterProblem* p_ = nullptr;
  std::vector<CpuProjection> data_;
  std::vector<std::vector<MatrixF>> a_, b_;  // [projection][adapter]
  MatrixF xg_, t_, yg_;
};

}  // namespace lrb
