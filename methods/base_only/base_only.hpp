#pragma once
// What base_only's CPU and CUDA paths share: when it can run and what it must move.
#include <string>

#include <fmt/format.h>

#include "harness/method.hpp"
#include "harness/registry.hpp"
#include "workloads/adapter_projection/problem.hpp"

namespace lrb::base_only {

// "batched": every projection's GEMM in one cuBLAS batched launch (the projections of this problem are
// independent, as S2LC's grouped launch also assumes); "per_projection": one tuned cuBLASLt GEMM per
// projection in sequence (what a layer-by-layer forward pass does); "cutlass_grouped": one persistent CUTLASS
// sm_90a grouped GEMM over every (projection, tile) (H100/H200; d_in and d_out multiples of 8); "auto" (the
// default, so the base every method is judged against is the fastest one measured): batched up to 64 tokens,
// cutlass_grouped above where it can run, else per_projection (BaseGemms::pick; the record names the choice).
inline ParamSpecs params() {
  return {{"schedule", ParamType::string, "auto", "CUDA launch schedule of the projections' GEMMs", {}, {},
           {"auto", "batched", "per_projection", "cutlass_grouped"}}};
}

// Where the CUTLASS grouped GEMM cannot run a point's shapes (TMA's 16-byte rows), the reason; else "".
inline std::string cutlass_shape_reason(const Point& point) {
  const Params p = point.params();
  const ModelShape* model = p.has("model") ? Registry::instance().model(p.string("model")) : nullptr;
  if (!model || !p.has("projections")) return "";
  const auto dim = [&](const char* key, int shape) {
    return p.has(key) && p.integer(key) > 0 ? p.integer(key) : static_cast<long long>(shape);
  };
  for (const auto& name : p.string_list("projections")) {
    const ProjectionShape* s = model->projection(name);
    if (!s) continue;
    const long long din = dim("d_in", s->d_in), dout = dim("d_out", s->d_out);
    if (din % 8 != 0 || dout % 8 != 0)
      return fmt::format("schedule cutlass_grouped: TMA needs rows of 16 bytes, d_in and d_out multiples of 8 ({} is "
                         "{} x {})",
                         name, dout, din);
  }
  return "";
}

// Whether a CUDA path can run the point with its `schedule`; `cutlass`: that parameter is cutlass_grouped (a
// method parameter: a point holds only the family's values), which needs the kernel in this build on this GPU
// (`unavailable`: GroupedGemmSm90a::unavailable_reason(), "" where it is) and 16-byte rows.
inline Support schedule_support(bool cutlass, const Point& point, const std::string& unavailable) {
  if (!cutlass) return Support::yes();
  if (!unavailable.empty()) return Support::no(unavailable);
  if (const std::string why = cutlass_shape_reason(point); !why.empty()) return Support::no(why);
  return Support::yes();
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
