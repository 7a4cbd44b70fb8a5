#include "harness/exec_context.hpp"

#include <algorithm>
#include <stdexcept>

#include "harness/host_memory.hpp"
#include "harness/method.hpp"

namespace lrb {

TimingResult ExecContext::time_method(Method& method, const MeasureOptions& options, const PreparedCopyFactory&) {
  // The CPU backend always times hot: the same buffers, caches as the previous run left them.
  return time_on_host([&] { method.run(*this); }, [&] { synchronize(); }, options);
}

TimingResult ExecContext::time_phase(TimedPhase& phase, const MeasureOptions& options) {
  return time_on_host([&] { phase.run(*this); }, [&] { synchronize(); }, options);
}

Json ExecContext::measure_memory(Method& method) {
  const Footprint fp = method.footprint();
  Json components = Json::object();
  for (const auto& [name, bytes] : fp.components) components[name] = bytes;
  Json m = {{"stored_bytes", fp.total()}, {"components", components}};
  if (!host_memory::counting()) {
    m["peak_bytes"] = nullptr;
    m["transient_bytes"] = nullptr;
    m["how"] = "not measured: built without the host allocation counter";
    return m;
  }
  host_memory::reset_peak();
  const auto before = host_memory::current_bytes();
  method.run(*this);
  synchronize();
  const auto peak = std::max<std::int64_t>(host_memory::peak_bytes() - before, 0);
  const auto retained = std::max<std::int64_t>(host_memory::current_bytes() - before, 0);
  m["peak_bytes"] = peak;
  m["transient_bytes"] = std::max<std::int64_t>(peak - retained, 0);
  m["how"] = "host heap high-water mark during one run (interposed malloc), above the level before it";
  return m;
}

Json ExecContext::measure_hbm(Method&, const std::string&, bool) {
  return {{"available", false}, {"read_bytes", nullptr}, {"write_bytes", nullptr},
          {"write_drained_bytes", nullptr}, {"note", "CPU backend: no HBM counters"}};
}

__attribute__((weak)) std::unique_ptr<ExecContext> make_device_context() {
  throw std::runtime_error("this lrbench was built without CUDA");
}

}  // namespace lrb
