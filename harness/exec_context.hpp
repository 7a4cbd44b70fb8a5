#pragma once
// What a method runs in, and how the runner measures it there. The base class is the CPU backend (host
// clock, host heap accounting); the CUDA backend (harness/cuda/cuda_context.hpp) adds its stream and
// handles and overrides timing (cold / graph / hot with CUDA events), memory and profiler ranges.
#include <functional>
#include <memory>
#include <string>

#include "harness/backend.hpp"
#include "harness/config.hpp"
#include "harness/json.hpp"
#include "harness/timing.hpp"

namespace lrb {

class Method;
class ExecContext;

// A part of `run` timed on its own as well (for example compress and decompress). Once `run` has been
// called, each phase can be repeated on its own.
struct TimedPhase {
  std::string name;
  std::function<void(ExecContext&)> run;
};

// Returns another instance of the method under test, prepared on the same problem with its own buffers
// (graph mode rotates among such copies so each replay reads from memory, not from cache).
using PreparedCopyFactory = std::function<std::unique_ptr<Method>()>;

class ExecContext {
 public:
  explicit ExecContext(Backend backend) : backend_(backend) {}
  virtual ~ExecContext() = default;
  ExecContext(const ExecContext&) = delete;
  ExecContext& operator=(const ExecContext&) = delete;
  Backend backend() const { return backend_; }

  // Waits until all work the method enqueued has finished (no-op on the CPU).
  virtual void synchronize() {}
  // Timing pass of `method.run` (MEASUREMENT.md section 3).
  virtual TimingResult time_method(Method& method, const MeasureOptions& options, const PreparedCopyFactory& make_copy);
  virtual TimingResult time_phase(TimedPhase& phase, const MeasureOptions& options);
  // Memory pass: {stored_bytes, components, peak_bytes, transient_bytes, how}.
  virtual Json measure_memory(Method& method);
  // HBM traffic pass: one execution between an L2 flush and a drain, counted where the backend can
  // (CUPTI on the GPU), inside a profiler range named `range`. {available, read_bytes, write_bytes,
  // write_drained_bytes, note}.
  virtual Json measure_hbm(Method& method, const std::string& range, bool enabled);

 private:
  Backend backend_;
};

// The CUDA backend's context; implemented in harness/cuda/, absent from CPU builds.
std::unique_ptr<ExecContext> make_device_context();

}  // namespace lrb
