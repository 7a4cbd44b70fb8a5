#pragma once
// What the CPU and CUDA paths of s2lc share: parameters, applicability, and the floor of its own
// representation.
#include <limits>

#include <fmt/format.h>

#include "harness/method.hpp"
#include "methods/s2lc/s2lc_encoding.hpp"
#include "workloads/adapter_projection/method_base.hpp"
#include "workloads/adapter_projection/problem.hpp"

namespace lrb::s2lc {

inline std::string description() {
  return "S2LC (seed 000): shared basis V_common per projection + two-stage k-means codes of U_k = dW_k V; "
         "out = (X V) U_k^T";
}

inline ParamSpecs params() {
  return {
      {"basis_rank", ParamType::integer, 16, "R, columns of the shared basis V_common", 1.0, 4096.0, {}},
      {"layout", ParamType::string, "u8x2", "U_k storage: u8x2 (two uint8 indices), packed (4+3 bits), fp16", {}, {},
       {"u8x2", "packed", "fp16"}},
      {"launch", ParamType::string, "grouped",
       "CUDA: one launch over all projections (grouped) or one per projection (the seed's 128 kernels)", {}, {},
       {"grouped", "per_projection"}},
  };
}

struct Settings {
  int R = 16;
  Layout layout = Layout::u8x2;
  bool grouped = true;
  explicit Settings(const Params& p)
      : R(static_cast<int>(p.integer("basis_rank"))),
        layout(parse_layout(p.string("layout"))),
        grouped(p.string("launch") == "grouped") {}
};

inline Support can_run(const Settings& s, const Point& point) {
  const Params p = point.params();
  if (s.layout == Layout::packed && s.R % 8 != 0)
    return Support::no(
        fmt::format("the packed layout stores 8-element groups: basis_rank {} is not a multiple of 8", s.R));
  if (p.integer("d_in") > 0 && s.R > p.integer("d_in"))
    return Support::no(fmt::format("basis_rank {} exceeds d_in {}", s.R, p.integer("d_in")));
  return Support::yes();
}

// Compulsory traffic of the s2lc representation: X, V_common, the distinct adapters' codes and codebooks,
// Y (and W in base+adapter mode), each once.
inline Floor floor(const AdapterProblem& p, const Encoding& enc, Layout layout) {
  Floor f;
  const Footprint stored = stored_bytes(enc, layout);
  double codes = 0;
  for (const auto& [name, bytes] : stored.components)
    if (name != "shared_bases") codes += static_cast<double>(bytes);
  const double per_adapter_projection = codes / (static_cast<double>(p.K) * p.projections.size());
  const double distinct = static_cast<double>(p.layout.adapters_used());
  for (const auto& proj : p.projections) {
    add_io_floor(f, p, proj);
    f.bytes += fp16_bytes(proj.d_in, enc.R) + distinct * per_adapter_projection;
    f.flops += 2.0 * p.batch * enc.R * (proj.d_in + proj.d_out);
  }
  f.note = fmt::format("s2lc {}: X, V_common (fp16), the distinct adapters' codes, Y{}, each once", to_string(layout),
                       p.with_base ? ", base weights" : "");
  return f;
}

inline Json metrics(const Encoding& enc, Layout layout, bool computed_here) {
  return {{"layout", to_string(layout)}, {"encoding", enc.stats}, {"encode_s", enc.encode_s},
          {"encoding_shared", !computed_here}};
}

}  // namespace lrb::s2lc
