#pragma once
// What base_only's CPU and CUDA paths share: when it can run and what it must move.
#include "harness/method.hpp"
#include "workloads/adapter_projection/problem.hpp"

namespace lrb::base_only {

inline Support can_run(const Point& point) {
  if (point.params().string("mode") == "adapter-only") return Support::no("base_only has no adapter path to measure");
  return Support::yes();
}

inline Floor floor(const AdapterProblem& p) {
  Floor f;
  for (const auto& proj : p.projections) {
    f.bytes += fp16_bytes(proj.d_out, proj.d_in) + fp16_bytes(p.batch, proj.d_in + proj.d_out);
    f.flops += 2.0 * p.batch * proj.d_in * proj.d_out;
  }
  f.note = "fp16: base weights + X + Y, each once (no adapter)";
  return f;
}

}  // namespace lrb::base_only
