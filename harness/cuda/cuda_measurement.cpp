// The CUDA backend's measurement: timing through the strategy of the configured mode, device memory
// accounting, and the CUPTI HBM counter pass inside NVTX ranges.
#include <nvtx3/nvToolsExt.h>

#include <algorithm>
#include <memory>

#include <fmt/format.h>

#include "harness/cuda/cuda_context.hpp"
#include "harness/cuda/device_info.hpp"
#include "harness/cuda/hbm_counters.hpp"
#include "harness/cuda/timing_strategies.hpp"
#include "harness/measurement.hpp"
#include "harness/method.hpp"
#include "harness/stats.hpp"

namespace lrb::cuda {
namespace {

nvtxDomainHandle_t nvtx_domain() {
  static nvtxDomainHandle_t d = nvtxDomainCreateA("lrbench");
  return d;
}

class CudaMeasurement final : public Measurement {
 public:
  explicit CudaMeasurement(ExecContext& ctx) : ctx_(cuda_context(ctx)) {}

  TimingResult time(Method& method, const MeasureOptions& options, const PreparedCopyFactory& make_copy) override {
    if (options.mode != "graph")
      return EventTiming(ctx_, options.mode == "cold").time([&] { method.run(ctx_); }, options);
    return time_in_graphs(method, options, make_copy, [this](Method& m) { m.run(ctx_); });
  }
  TimingResult time_phase(Method& method, std::size_t phase, const MeasureOptions& options,
                          const PreparedCopyFactory& make_copy) override {
    if (options.mode != "graph") {
      auto phases = method.phases();
      return EventTiming(ctx_, options.mode == "cold").time([&] { phases.at(phase).run(ctx_); }, options);
    }
    // Graph mode: each copy runs once (a later phase needs the earlier ones' results, e.g. the blob), then
    // the phase alone is captured and replayed.
    return time_in_graphs(method, options, make_copy, [this, phase](Method& m) { m.phases().at(phase).run(ctx_); },
                          true);
  }
  Json memory(Method& method) override;
  Json hbm(Method& method, const std::string& range, bool enabled) override;

 private:
  TimingResult time_in_graphs(Method& method, const MeasureOptions& options, const PreparedCopyFactory& make_copy,
                              const std::function<void(Method&)>& work, bool run_first = false) {
    GraphTiming graph(ctx_);
    const GraphTiming::Plan plan = graph.plan(static_cast<double>(method.footprint().total()));
    std::vector<std::unique_ptr<Method>> extra;
    std::vector<Method*> methods = {&method};
    for (int i = 1; i < plan.copies; ++i) {
      extra.push_back(make_copy());
      methods.push_back(extra.back().get());
    }
    std::vector<std::function<void()>> runs;
    for (Method* m : methods) {
      if (run_first) m->run(ctx_);
      runs.push_back([m, &work] { work(*m); });
    }
    return graph.time(plan, runs, options);
  }
  void synchronize() { ctx_.synchronize(); }
  void range_push(const std::string& name);
  void range_pop();
  const Json& idle_counter_traffic();

  CudaContext& ctx_;
  std::vector<int> range_depths_;
};

Json CudaMeasurement::memory(Method& method) {
  return memory_during_run(method, ctx_,
                           {DeviceMemoryCounter::current, DeviceMemoryCounter::peak, DeviceMemoryCounter::reset_peak},
                           "device bytes held by DeviceBuffers during one run, above the level before it (cuBLAS "
                           "workspaces are the context's, allocated before)");
}

Json CudaMeasurement::hbm(Method& method, const std::string& range, bool enabled) {
  ctx_.synchronize();
  auto& res = MeasurementResources::instance();
  auto flush = [&] { res.flush_l2(ctx_.stream()); };
  auto work = [&] {
    range_push(range);
    method.run(ctx_);
    range_pop();
  };
  if (!enabled) {
    return {{"available", false}, {"read_bytes", nullptr}, {"write_bytes", nullptr},
            {"write_drained_bytes", nullptr}, {"note", "disabled by measure.hbm = false"}};
  }
  Json out = HbmProfiler::instance().measure(flush, work, flush, [&] { ctx_.synchronize(); });
  if (!out.value("available", false)) return out;
  const Json& idle = idle_counter_traffic();
  out["idle"] = idle;
  if (idle.value("available", false))
    out["write_drained_net_bytes"] = out["write_drained_bytes"].get<double>() - idle["write_drained_bytes"].get<double>();
  return out;
}

// What the counter path itself moves: the same flush / measured range / drain around no work, once per
// process (median of three). On the H200 this is a constant ~4.8 MB of drained writes and ~0 reads, which
// matters for methods whose output is a few MB; write_drained_net_bytes subtracts it.
const Json& CudaMeasurement::idle_counter_traffic() {
  static Json idle;
  if (!idle.is_null()) return idle;
  auto& res = MeasurementResources::instance();
  std::vector<Json> runs;
  for (int i = 0; i < 3; ++i)
    runs.push_back(HbmProfiler::instance().measure([&] { res.flush_l2(ctx_.stream()); }, [] {},
                                                   [&] { res.flush_l2(ctx_.stream()); }, [&] { ctx_.synchronize(); }));
  idle = {{"available", true}};
  for (const char* key : {"read_bytes", "write_bytes", "write_drained_bytes"}) {
    std::vector<double> v;
    for (const auto& r : runs)
      if (r.value("available", false) && r[key].is_number()) v.push_back(r[key].get<double>());
    if (v.size() != runs.size()) {
      idle = {{"available", false}, {"note", "the idle counter measurement failed"}};
      return idle;
    }
    idle[key] = summarize(v).median;
  }
  idle["note"] = "median of 3 measurements of the counter path around no work";
  return idle;
}

void CudaMeasurement::range_push(const std::string& name) {
  // One nested push/pop range per '/'-separated part, so Nsight Compute's filter
  // --nvtx-include "lrbench@<family>/<method>/<point>/" matches it.
  int depth = 0;
  std::size_t begin = 0;
  while (begin <= name.size()) {
    const std::size_t end = std::min(name.find('/', begin), name.size());
    const std::string part = name.substr(begin, end - begin);
    nvtxEventAttributes_t a{};
    a.version = NVTX_VERSION;
    a.size = NVTX_EVENT_ATTRIB_STRUCT_SIZE;
    a.messageType = NVTX_MESSAGE_TYPE_ASCII;
    a.message.ascii = part.c_str();
    nvtxDomainRangePushEx(nvtx_domain(), &a);
    ++depth;
    begin = end + 1;
  }
  range_depths_.push_back(depth);
}

void CudaMeasurement::range_pop() {
  if (range_depths_.empty()) return;
  for (int i = 0; i < range_depths_.back(); ++i) nvtxDomainRangePop(nvtx_domain());
  range_depths_.pop_back();
}

}  // namespace

}  // namespace lrb::cuda

namespace lrb {
std::unique_ptr<Measurement> make_device_measurement(ExecContext& ctx) {
  return std::make_unique<cuda::CudaMeasurement>(ctx);
}
}  // namespace lrb
