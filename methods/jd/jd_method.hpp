#pragma once
// What the CPU and CUDA paths of jd_full / jd_diag share: parameters, applicability, the fit's options, the
// floor of the representation and the metrics.
#include <algorithm>

#include <fmt/format.h>

#include "harness/registry.hpp"
#include "methods/jd/jd_fit.hpp"
#include "workloads/adapter_projection/method_base.hpp"

namespace lrb::jd {

inline Options options_of(const Params& p) {
  Options o;
  o.R = static_cast<int>(p.integer("shared_rank"));
  o.iterations = static_cast<int>(p.integer("iterations"));
  return o;
}

inline ParamSpecs params() {
  return {{"shared_rank", ParamType::integer, 16, "R, columns of the shared bases U and V", 1.0, 4096.0, {}},
          {"iterations", ParamType::integer, 50,
           "alternations of the fit at most (it stops earlier once the objective changes by < 1e-9 of the "
           "population's energy)",
           1.0, 10000.0, {}}};
}

// R <= min(d_in, d_out) of every projection (the overrides, else the model's shapes).
inline Support supports(const Point& point, const Params& p) {
  const Params pp = point.params();
  const long long R = p.integer("shared_rank");
  const ModelShape* model = Registry::instance().model(pp.string("model"));
  for (const auto& name : pp.string_list("projections")) {
    const ProjectionShape* shape = model ? model->projection(name) : nullptr;
    const long long d_in = pp.integer("d_in") > 0 ? pp.integer("d_in") : (shape ? shape->d_in : R);
    const long long d_out = pp.integer("d_out") > 0 ? pp.integer("d_out") : (shape ? shape->d_out : R);
    if (R > std::min(d_in, d_out))
      return Support::no(fmt::format("shared_rank {} exceeds {}'s min(d_in, d_out) = {}", R, name, std::min(d_in, d_out)));
  }
  return Support::yes();
}

// Compulsory traffic: X, U and V (fp16), the batch's distinct adapters' cores, Y (and W), each once.
inline Floor floor(const AdapterProblem& p, Core core, int R) {
  Floor f;
  const double core_elems = core == Core::full ? static_cast<double>(R) * R : R;
  const double distinct = static_cast<double>(p.layout.adapters_used());
  for (const auto& proj : p.projections) {
    add_io_floor(f, p, proj);
    f.bytes += fp16_bytes(proj.d_in + proj.d_out, R) + distinct * 2 * core_elems;
    f.flops += 2.0 * p.batch * (R * (proj.d_in + proj.d_out) + core_elems);
  }
  f.note = fmt::format("jd_{}: X, U and V (fp16), the distinct adapters' cores, Y{}, each once", to_string(core),
                       p.with_base ? ", base weights" : "");
  return f;
}

inline Json metrics(const Fit& fit, bool computed_here) {
  return {{"fit", fit.stats}, {"encode_s", fit.encode_s}, {"fit_shared", !computed_here}};
}

}  // namespace lrb::jd
