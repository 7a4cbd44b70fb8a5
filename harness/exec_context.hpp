#pragma once
// What a method runs in: the backend, and on CUDA (harness/cuda/cuda_context.hpp) the stream, cuBLAS
// handles and workspace. How the runner measures it is harness/measurement.hpp.
#include <functional>
#include <memory>
#include <string>

#include "harness/backend.hpp"
#include "harness/config.hpp"
#include "harness/json.hpp"
#include "harness/output_view.hpp"
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
  // Memory primitives of the correctness pass, synchronous: host memory everywhere, device memory on a
  // device backend.
  virtual void fill_bytes(void* dst, unsigned char value, std::size_t bytes, Memory where);
  virtual void copy_to_host(void* dst, const void* src, std::size_t bytes, Memory where);
 private:
  Backend backend_;
};

// The context of a backend.
std::unique_ptr<ExecContext> make_context(Backend backend);
// The CUDA backend's context; implemented in harness/cuda/, absent from CPU builds.
std::unique_ptr<ExecContext> make_device_context();

}  // namespace lrb
