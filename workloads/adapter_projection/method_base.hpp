#pragma once
// The abstract method of adapter_projection and a helper for CPU paths.
#include <limits>
#include <vector>

#include "harness/method.hpp"
#include "workloads/adapter_projection/problem.hpp"

namespace lrb {

class AdapterProjectionMethod : public Method {
 public:
  // What the output is meant to equal: the full problem, or the base GEMM alone (base_only).
  enum class Target { full, base };
  virtual Target target() const { return Target::full; }
  // Relative error above which the output is wrong (not merely lossy). Lossy methods: infinity.
  virtual double tolerance() const { return 1e-2; }
  // Fills every output element with NaN so an element the run does not write is caught.
  virtual void poison_output() = 0;
  // Y_p for every projection (batch x d_out), copied to the host.
  virtual const std::vector<MatrixF>& output() = 0;
  // Methods that store adapters in a compressed form report it (compression ratio vs fp16 LoRA).
  virtual bool compresses_adapters() const { return false; }
};

// CPU paths keep fp32 outputs on the host.
class CpuAdapterMethod : public AdapterProjectionMethod {
 public:
  void poison_output() override {
    for (auto& y : out_) y.setConstant(std::numeric_limits<float>::quiet_NaN());
  }
  const std::vector<MatrixF>& output() override { return out_; }

 protected:
  void allocate_outputs(const AdapterProblem& p) {
    out_.clear();
    for (const auto& proj : p.projections) out_.emplace_back(MatrixF::Zero(p.batch, proj.d_out));
  }
  std::vector<MatrixF> out_;
};

}  // namespace lrb
