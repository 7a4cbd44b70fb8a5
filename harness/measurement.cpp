#include "harness/measurement.hpp"

#include <algorithm>
#include <stdexcept>

#include "harness/host_memory.hpp"
#include "harness/method.hpp"
#include "harness/timing_strategy.hpp"

namespace lrb {
namespace {

// The CPU backend: host clock (always hot: the same buffers, caches as the previous run left them), host
// heap high-water mark, no HBM counters.
class HostMeasurement final : public Measurement {
 public:
  explicit HostMeasurement(ExecContext& ctx) : ctx_(ctx) {}
  TimingResult time(Method& method, const MeasureOptions& options, const PreparedCopyFactory&) override {
    return clock_.time([&] { method.run(ctx_); }, ctx_, options);
  }
  TimingResult time_phase(Method& method, std::size_t phase, const MeasureOptions& options,
                          const PreparedCopyFactory&) override {
    auto phases = method.phases();
    return clock_.time([&] { phases.at(phase).run(ctx_); }, ctx_, options);
  }
  Json memory(Method& method) override {
    Json m = footprint_json(method);
    if (!host_memory::counting()) {
      m["peak_bytes"] = nullptr;
      m["transient_bytes"] = nullptr;
      m["how"] = "not measured: built without the host allocation counter";
      return m;
    }
    const ByteCounter heap{host_memory::current_bytes, host_memory::peak_bytes, host_memory::reset_peak};
    return memory_during_run(method, ctx_, heap,
                             "host heap high-water mark during one run (interposed malloc), above the level before it");
  }
  Json hbm(Method&, const std::string&, bool) override {
    return {{"available", false}, {"read_bytes", nullptr}, {"write_bytes", nullptr},
            {"write_drained_bytes", nullptr}, {"note", "CPU backend: no HBM counters"}};
  }

 private:
  ExecContext& ctx_;
  HostClockTiming clock_;
};

}  // namespace

Json footprint_json(const Method& method) {
  const Footprint fp = method.footprint();
  Json components = Json::object();
  for (const auto& [name, bytes] : fp.components) components[name] = bytes;
  Json m = {{"stored_bytes", fp.total()}, {"components", components}};
  const Footprint tr = method.transient();
  if (!tr.components.empty()) {
    Json live = Json::object();
    for (const auto& [name, bytes] : tr.components) live[name] = bytes;
    m["transient_analytic"] = {{"bytes", tr.total()}, {"live", live},
                               {"how", "the intermediates the method's code allocates, live at once at its peak"}};
  }
  return m;
}

Json memory_during_run(Method& method, ExecContext& ctx, const ByteCounter& counter, const std::string& how) {
  Json m = footprint_json(method);
  ctx.synchronize();
  counter.reset_peak();
  const auto before = counter.current();
  method.run(ctx);
  ctx.synchronize();
  const auto peak = std::max<std::int64_t>(counter.peak() - before, 0);
  const auto retained = std::max<std::int64_t>(counter.current() - before, 0);
  // A resident workspace is live during the run though allocated before it: charged to the run's bytes.
  const auto workspace = static_cast<std::int64_t>(method.workspace().total());
  m["workspace_bytes"] = workspace;
  m["peak_bytes"] = peak + workspace;
  m["transient_bytes"] = std::max<std::int64_t>(peak - retained, 0) + workspace;
  m["how"] = workspace > 0 ? how + ", plus the method's resident workspace (workspace_bytes)" : how;
  return m;
}

std::unique_ptr<Measurement> make_measurement(ExecContext& ctx) {
  if (ctx.backend() == Backend::cpu) return std::make_unique<HostMeasurement>(ctx);
  return make_device_measurement(ctx);
}

__attribute__((weak)) std::unique_ptr<Measurement> make_device_measurement(ExecContext&) {
  throw std::runtime_error("this lrbench was built without CUDA");
}

}  // namespace lrb
