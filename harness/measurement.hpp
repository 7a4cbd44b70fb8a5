#pragma once
// How the runner measures a method (MEASUREMENT.md): timing in the configured mode, HBM counters and
// memory. Kept apart from ExecContext, which is only what methods run in (stream, handles, workspace).
// Each backend provides one Measurement; timing modes are strategy classes of their own
// (harness/timing_strategy.hpp: the host clock; harness/cuda/timing_strategies.hpp: cold, hot, graph).
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "harness/config.hpp"
#include "harness/exec_context.hpp"
#include "harness/json.hpp"
#include "harness/timing.hpp"

namespace lrb {

class Method;

class Measurement {
 public:
  virtual ~Measurement() = default;
  // Timing pass of `method.run` in options.mode (copies: graph mode rotates among them).
  virtual TimingResult time(Method& method, const MeasureOptions& options, const PreparedCopyFactory& make_copy) = 0;
  // One phase of `run` (compress, decompress) in the same mode as the run.
  virtual TimingResult time_phase(Method& method, std::size_t phase, const MeasureOptions& options,
                                  const PreparedCopyFactory& make_copy) = 0;
  // Memory pass: {stored_bytes, components, peak_bytes, transient_bytes, how}, and transient_analytic
  // {bytes, live, how} where the method counts its own intermediates (Method::transient).
  virtual Json memory(Method& method) = 0;
  // HBM traffic of one execution inside a profiler range named `range`: {available, read_bytes,
  // write_bytes, write_drained_bytes, note, ...}.
  virtual Json hbm(Method& method, const std::string& range, bool enabled) = 0;
};

// The measurement of the backend `ctx` belongs to.
std::unique_ptr<Measurement> make_measurement(ExecContext& ctx);
// The CUDA backend's; implemented in harness/cuda/, absent from CPU builds.
std::unique_ptr<Measurement> make_device_measurement(ExecContext& ctx);

// {stored_bytes, components} of a method's footprint (every backend's memory pass starts from it).
Json footprint_json(const Method& method);

// A byte counter the memory pass reads around one run (host heap, device buffers).
struct ByteCounter {
  std::function<std::int64_t()> current, peak;
  std::function<void()> reset_peak;  // peak := current
};
// The memory pass on any backend: the footprint, then the counter's high-water mark during one run above
// the level before it (peak_bytes) and that minus what the run left allocated (transient_bytes).
Json memory_during_run(Method& method, ExecContext& ctx, const ByteCounter& counter, const std::string& how);

}  // namespace lrb
