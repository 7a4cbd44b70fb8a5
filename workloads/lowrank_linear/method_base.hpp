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

}  // namespace lrb
