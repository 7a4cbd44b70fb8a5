#pragma once
// The parameters bgmv and sgmv share: base_only's `schedule` for their base GEMMs, and `pass`: how the base and
// the adapter meet on the GPU.
#include <fmt/format.h>

#include "methods/base_only/base_only.hpp"

namespace lrb::punica {

// "separate": the base GEMMs (by `schedule`), then the shrink and the expand, which reads Y and writes it again;
// "fused": the shrink, then one skinny GEMM over every projection whose epilogue adds the LoRA delta, so Y is
// written once (kernels/adapter_projection/fused_lora.cuh; batch <= 64, base+adapter mode).
inline constexpr int kFusedMaxBatch = 64;

inline ParamSpecs params() {
  ParamSpecs p = base_only::params();
  p.push_back({"pass", ParamType::string, "separate",
               "CUDA base+adapter pass: separate (base GEMMs, then the expand reads and rewrites Y) or fused (the "
               "expand in a skinny base GEMM's epilogue: Y written once; batch <= 64)",
               {}, {}, {"separate", "fused"}});
  return p;
}

// Whether the pass can run the point; `fused`: the method's `pass` parameter is fused (a point holds only the
// family's values, not the method's parameters).
inline Support can_run(const Point& point, bool fused) {
  if (!fused) return Support::yes();
  const Params p = point.params();
  if (p.has("mode") && p.string("mode") == "adapter-only")
    return Support::no("pass fused folds the LoRA delta into the base GEMM: adapter-only mode has none");
  if (p.has("batch") && p.integer("batch") > kFusedMaxBatch)
    return Support::no(fmt::format("pass fused holds the whole batch as the tensor cores' N: batch <= {} (batch = {})",
                                   kFusedMaxBatch, p.integer("batch")));
  return Support::yes();
}

}  // namespace lrb::punica
