#include "harness/env.hpp"

#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <string>
#include <thread>

#include <fmt/format.h>

#include "harness/build_info.hpp"

namespace lrb {

namespace {
std::string host_cpu_model() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("model name", 0) == 0) {
      auto colon = line.find(':');
      if (colon != std::string::npos) return line.substr(colon + 2);
    }
  }
  return "unknown";
}
}  // namespace

Json no_device_environment() {
  return {{"gpu", nullptr},       {"sm_count", nullptr},     {"l2_bytes", nullptr},
          {"mem_bytes", nullptr}, {"driver", nullptr},       {"cuda_runtime", nullptr},
          {"clocks", {{"sm_mhz", nullptr}, {"mem_mhz", nullptr}}}};
}

// The CUDA build provides the device part (harness/cuda/); this weak default reports no GPU.
__attribute__((weak)) Json capture_device_environment() { return no_device_environment(); }

Json capture_environment(Backend backend) {
  // The CPU backend reports no GPU even where one exists: the record describes what ran.
  Json env = backend == Backend::cuda ? capture_device_environment() : no_device_environment();
  char host[256] = {};
  env["host"] = ::gethostname(host, sizeof host - 1) == 0 ? Json(std::string(host)) : Json(nullptr);
  env["host_cpu"] = host_cpu_model();
  env["host_threads"] = std::thread::hardware_concurrency();
  const char* visible = std::getenv("CUDA_VISIBLE_DEVICES");
  env["cuda_visible_devices"] = visible ? Json(std::string(visible)) : Json(nullptr);
  env["compiler"] = build_info::compiler();
  env["cxx_flags"] = build_info::cxx_flags();
  env["build_type"] = build_info::build_type();
  env["with_cuda"] = build_info::with_cuda();
  return env;
}

std::string utc_timestamp() {
  const std::time_t t = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

}  // namespace lrb
