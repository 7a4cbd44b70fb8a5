#include "harness/passes.hpp"

#include <cmath>
#include <stdexcept>

#include "harness/registry.hpp"

namespace lrb {
namespace {

// null where the value cannot be formed (no samples, no ceilings).
Json number_or_null(bool ok, double value) { return ok ? Json(value) : Json(nullptr); }

Json floor_json(const Floor& f, const Ceilings& c, double median_s) {
  const bool timed = median_s > 0;
  Json j = {{"bytes", f.bytes}, {"flops", f.flops}, {"write_bytes", number_or_null(f.write_bytes > 0, f.write_bytes)},
            {"note", f.note}};
  Json bw = {{"achieved", number_or_null(timed, f.bytes / median_s)},
             {"ceiling", number_or_null(c.available, c.copy_bytes_per_s)},
             {"fraction", number_or_null(timed && c.available, f.bytes / median_s / c.copy_bytes_per_s)},
             {"unit", "bytes/s"}};
  if (c.available) {
    const double t_bytes = f.bytes / c.copy_bytes_per_s, t_flops = f.flops / c.gemm_flops_per_s;
    const double t = std::max(t_bytes, t_flops);
    j["time_ms"] = t * 1e3;
    j["bound"] = t_bytes >= t_flops ? "memory" : "compute";
    j["fraction"] = number_or_null(timed, t / median_s);
  } else {
    j["time_ms"] = nullptr;
    j["bound"] = nullptr;
    j["fraction"] = nullptr;
  }
  return Json{{"floor", j}, {"bandwidth", bw}};
}

// Drained HBM writes beyond the compulsory output writes: what a method wrote that was not its output
// (intermediates, workspaces, or write-back of anything it dirtied in L2).
void add_write_excess(Json& hbm, const Floor& floor) {
  // Net of the counter path's own writes where the backend measured them (CUDA: hbm.idle).
  const char* key = hbm.contains("write_drained_net_bytes") ? "write_drained_net_bytes" : "write_drained_bytes";
  if (!hbm.value("available", false) || floor.write_bytes <= 0 || !hbm[key].is_number()) return;
  const double excess = hbm[key].get<double>() - floor.write_bytes;
  hbm["write_excess_bytes"] = excess;
  hbm["write_excess_fraction"] = excess / floor.write_bytes;
}

bool has_nan(const Json& j) {
  if (j.is_number_float()) return std::isnan(j.get<double>());
  if (j.is_structured())
    for (const auto& e : j)
      if (has_nan(e)) return true;
  return false;
}

}  // namespace

Json hbm_not_measured(Backend backend) {
  return {{"available", false}, {"read_bytes", nullptr}, {"write_bytes", nullptr}, {"write_drained_bytes", nullptr},
          {"note", backend == Backend::cpu ? "CPU backend: no HBM counters"
                                           : "not measured: the record ended before its counter pass"}};
}

CheckResult correctness_pass(const PassContext& pc) {
  if (!pc.measure.fidelity) {
    CheckResult r;
    r.fidelity = {{"checked", false}, {"note", "measure.fidelity = false"}};
    return r;
  }
  CheckOptions options;
  options.max_reference_flops = pc.measure.max_reference_flops;
  CheckResult r = check_method(pc.family, pc.info, pc.problem, pc.method, pc.ctx, options);
  r.outputs.clear();  // the runner needs the verdict, not the host copies
  if (r.failure || !pc.make_fresh) return r;
  const MethodProbe probe = [&](const Problem& problem) {
    auto m = pc.make_fresh();
    m->prepare(problem, pc.ctx);
    m->run(pc.ctx);
    return download_outputs(*m, pc.ctx);
  };
  if (auto model = pc.family.model_fidelity(pc.problem, pc.info, probe)) r.fidelity["model"] = std::move(*model);
  return r;
}

Json timing_pass(const PassContext& pc, double* median_s) {
  const TimingResult timing = pc.measurement.time(pc.method, pc.measure, pc.make_copy);
  Json out = {{"time", timing_to_json(timing, pc.measure.keep_samples)}, {"phases", nullptr}};
  if (!timing.note.empty()) out["time"]["note"] = timing.note;
  Json phases = Json::object();
  const auto list = pc.method.phases();
  for (std::size_t i = 0; i < list.size(); ++i)
    phases[list[i].name] =
        timing_to_json(pc.measurement.time_phase(pc.method, i, pc.measure, pc.make_copy), pc.measure.keep_samples);
  if (!phases.empty()) out["phases"] = phases;
  if (has_nan(out["time"])) throw std::runtime_error("timing produced NaN");
  *median_s = timing.stats.median;
  return out;
}

Json counter_pass(const PassContext& pc, const std::string& range) {
  return pc.measurement.hbm(pc.method, range, pc.measure.hbm);
}

Json memory_pass(const PassContext& pc) { return pc.measurement.memory(pc.method); }

Json post_run_pass(const PassContext& pc, const Ceilings& ceilings, double median_s, double prepare_s, Json& hbm) {
  pc.method.after_run(pc.ctx);
  pc.ctx.synchronize();
  const Floor floor = pc.method.floor(pc.problem).value_or(pc.family.floor(pc.problem, pc.method));
  Json out = floor_json(floor, ceilings, median_s);
  out["ceilings"] = ceilings_to_json(ceilings);
  for (const auto& [name, ph] : floor.phases) {
    Floor f;
    f.bytes = ph.bytes, f.flops = ph.flops;
    out["phase_floors"][name] = floor_json(f, ceilings, 0)["floor"];
  }
  add_write_excess(hbm, floor);
  out["compression"] = pc.family.compression(pc.problem, pc.info, pc.method);
  Json metrics = pc.method.metrics();
  metrics["prepare_s"] = prepare_s;
  out["metrics"] = metrics;
  return out;
}

}  // namespace lrb
