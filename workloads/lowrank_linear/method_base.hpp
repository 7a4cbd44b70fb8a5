#pragma once
#include <limits>
#include <vector>

#include "harness/method.hpp"
#include "workloads/lowrank_linear/problem.hpp"

namespace lrb {

class LowrankLinearMethod : public Method {
 public:
  // What the output is meant to equal: X W^T (the uncompressed layer) or X W_r^T (the factors).
  enum class Target { full, truncated };
  virtual Target target() const { return Target::truncated; }
  virtual double tolerance() const { return 1e-2; }
  virtual void poison_output() = 0;
  virtual const MatrixF& output() = 0;  // tokens x d_out, on the host
};

class CpuLowrankMethod : public LowrankLinearMethod {
 public:
  void poison_output() override { out_.setConstant(std::numeric_limits<float>::quiet_NaN()); }
  const MatrixF& output() override { return out_; }

 protected:
  MatrixF out_;
};

}  // namespace lrb
