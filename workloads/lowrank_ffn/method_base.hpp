#pragma once
// The abstract method of lowrank_ffn and its host base. Whether the output must equal the uncompressed FFN
// (dense_ffn: traits.target "full") or the FFN of the truncated factors (the default) is a trait of the
// declaration, as in lowrank_linear.
#include <cmath>
#include <vector>

#include "harness/method.hpp"
#include "workloads/lowrank_ffn/problem.hpp"

namespace lrb {

class LowrankFfnMethod : public Method {};

class CpuLowrankFfnMethod : public LowrankFfnMethod {
 public:
  std::vector<OutputView> outputs() override {
    return {{"Y", Memory::host, DType::f32, out_.data(), static_cast<std::size_t>(out_.rows()),
             static_cast<std::size_t>(out_.cols()), 0}};
  }

 protected:
  MatrixF out_;
};

// A host method that works on the three matrices' factors as fp32 (gate, up, down in LowrankFfnProblem's
// order) and X; stores the factors (footprint) and sizes Y.
class CpuLowrankFfnFactorsMethod : public CpuLowrankFfnMethod {
 public:
  void prepare(const Problem& problem, ExecContext&) override {
    const auto& p = static_cast<const LowrankFfnProblem&>(problem);
    for (int k = 0; k < 3; ++k) US_[k] = p.m[k].US.cast<float>(), Vt_[k] = p.m[k].Vt.cast<float>();
    X_ = p.X.cast<float>();
    out_.resize(p.tokens, p.d_model);
  }
  Footprint footprint() const override {
    std::size_t b = 0;
    for (int k = 0; k < 3; ++k) b += bytes_of(US_[k]) + bytes_of(Vt_[k]);
    return {{{"factors", b}}};
  }

 protected:
  MatrixF US_[3], Vt_[3], X_;
};

namespace swiglu {
// silu(g) * u, the FFN's gate: g / (1 + e^-g) * u (float, as every path computes it).
inline float gated(float g, float u) { return g / (1.0f + std::exp(-g)) * u; }
}  // namespace swiglu

}  // namespace lrb
