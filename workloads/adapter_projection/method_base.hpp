#pragma once
// The abstract method of adapter_projection and its host base (CPU paths: fp32 outputs on the host).
// What a method's output must equal (the full problem, or the base GEMM for base_only), its tolerance and
// whether it compresses adapters are traits of its declaration (harness/registry.hpp), not virtuals here.
#include <string>
#include <vector>

#include "harness/method.hpp"
#include "workloads/adapter_projection/problem.hpp"

namespace lrb {

class AdapterProjectionMethod : public Method {};

// The part of a compressed method's floor every representation shares, for one projection: X read and Y
// written once (fp16), and in base+adapter mode the base weight read once and its GEMM's FLOPs. The method
// adds its own bases, codes and FLOPs.
inline void add_io_floor(Floor& f, const AdapterProblem& p, const ProjectionProblem& proj) {
  const double din = proj.d_in, dout = proj.d_out;
  f.bytes += fp16_bytes(p.batch, din + dout);
  if (p.with_base) {
    f.bytes += fp16_bytes(dout, din);
    f.flops += 2.0 * p.batch * din * dout;
  }
  f.write_bytes += fp16_bytes(p.batch, dout);
}

// CPU paths keep one fp32 output per projection (batch x d_out) on the host.
class CpuAdapterMethod : public AdapterProjectionMethod {
 public:
  std::vector<OutputView> outputs() override {
    std::vector<OutputView> v;
    for (std::size_t i = 0; i < out_.size(); ++i)
      v.push_back({names_[i], Memory::host, DType::f32, out_[i].data(), static_cast<std::size_t>(out_[i].rows()),
                   static_cast<std::size_t>(out_[i].cols()), 0});
    return v;
  }

 protected:
  void allocate_outputs(const AdapterProblem& p) {
    out_.clear();
    names_.clear();
    for (const auto& proj : p.projections) {
      out_.emplace_back(MatrixF::Zero(p.batch, proj.d_out));
      names_.push_back(proj.name);
    }
  }
  std::vector<MatrixF> out_;
  std::vector<std::string> names_;
};

}  // namespace lrb
