#pragma once
// What base_only's CPU and CUDA paths share: when it can run and what it must move.
#include "harness/method.hpp"
#include "workloads/adapter_projection/problem.hpp"

namespace lrb::base_only {

// "batched": every projection's GEMM in one cuBLAS batched launch (the projections of this problem are
// independent, as S2LC's grouped launch also assumes); "per_projection": one tuned cuBLASLt GEMM per
// projection in sequence (what a layer-by-layer forward pass does).
inline ParamSpecs params() {
  return {{"schedule", ParamType::string, "batched", "CUDA launch schedule of the projections' GEMMs", {}, {},
           {"batched", "per_projection"}}};
}

inline Support can_run(const Point& point) {
  if (point.params().string("mode") == "adapter-only") return Support::no("base_only has no adapter path to measure");
  return Support::yes();
}

inline Floor floor(const AdapterProblem& p) {
  Floor f;
  for (const auto& proj : p.projections) {
    f.bytes += fp16_bytes(proj.d_out, proj.d_in) + fp16_bytes(p.batch, proj.d_in + proj.d_out);
    f.flops += 2.0 * p.batch * proj.d_in * proj.d_out;
    f.write_bytes += fp16_bytes(p.batch, proj.d_out);
  }
  f.note = "fp16: base weights + X + Y, each once (no adapter)";
  return f;
}

}  // namespace lrb::base_only
