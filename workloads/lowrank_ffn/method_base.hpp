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

namespace swiglu {
// silu(g) * u, the FFN's gate: g / (1 + e^-g) * u (float, as every path computes it).
inline float gated(float g, float u) { return g / (1.0f + std::exp(-g)) * u; }
}  // namespace swiglu

}  // namespace lrb
