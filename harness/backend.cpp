#include "harness/backend.hpp"

namespace lrb {

std::string to_string(Backend backend) { return backend == Backend::cpu ? "cpu" : "cuda"; }

std::optional<BackendChoice> parse_backend_choice(const std::string& text) {
  if (text == "auto") return BackendChoice::automatic;
  if (text == "cpu") return BackendChoice::cpu;
  if (text == "cuda") return BackendChoice::cuda;
  return std::nullopt;
}

bool cuda_built() {
#ifdef LRBENCH_WITH_CUDA
  return true;
#else
  return false;
#endif
}

// The CUDA build overrides this in harness/cuda/ (a weak default keeps the CPU build free of CUDA).
__attribute__((weak)) bool cuda_device_present() { return false; }

std::optional<Backend> resolve_backend(BackendChoice choice, std::string* reason) {
  switch (choice) {
    case BackendChoice::cpu: return Backend::cpu;
    case BackendChoice::automatic: return cuda_device_present() ? Backend::cuda : Backend::cpu;
    case BackendChoice::cuda:
      if (!cuda_built()) {
        if (reason) *reason = "this lrbench was built without CUDA (configure with -DLRBENCH_CUDA=ON)";
        return std::nullopt;
      }
      if (!cuda_device_present()) {
        if (reason) *reason = "no CUDA device is present";
        return std::nullopt;
      }
      return Backend::cuda;
  }
  return std::nullopt;
}

}  // namespace lrb
