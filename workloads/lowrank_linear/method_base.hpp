#pragma once
// The abstract method of lowrank_linear and its host base. Whether the output must equal X W^T (the
// uncompressed layer: dense) or X W_r^T (the factors, the default) is a trait of the declaration.
#include <vector>

#include "harness/method.hpp"
#include "workloads/lowrank_linear/problem.hpp"

namespace lrb {

class LowrankLinearMethod : public Method {};

class CpuLowrankMethod : public LowrankLinearMethod {
 public:
  std::vector<OutputView> outputs() override {
    return {{"Y", Memory::host, DType::f32, out_.data(), static_cast<std::size_t>(out_.rows()),
             static_cast<std::size_t>(out_.cols()), 0}};
  }

 protected:
  MatrixF out_;
};

// A host method on the layer's factors as fp32 (US, Vt) and X; stores the factors (footprint) and sizes Y.
class CpuLowrankFactorsMethod : public CpuLowrankMethod {
 public:
  void prepare(const Problem& problem, ExecContext&) override {
    const auto& p = static_cast<const LowrankProblem&>(problem);
    US_ = p.US.cast<float>();
    Vt_ = p.Vt.cast<float>();
    X_ = p.X.cast<float>();
    out_.resize(p.tokens, p.d_out);
  }
  Footprint footprint() const override { return {{{"factors", bytes_of(US_) + bytes_of(Vt_)}}}; }

 protected:
  MatrixF US_, Vt_, X_;
};

}  // namespace lrb
