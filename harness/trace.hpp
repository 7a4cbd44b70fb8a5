#pragma once
// Diagnostic trace to stderr when the environment sets LRBENCH_TRACE=1 (stages of each record, GEMM
// tuning): for finding where a long run spends its time, or where it stalls.
#include <cstdio>
#include <cstdlib>
#include <string>

#include <fmt/format.h>

namespace lrb {

inline bool trace_enabled() {
  static const bool on = [] {
    const char* v = std::getenv("LRBENCH_TRACE");
    return v && *v && std::string(v) != "0";
  }();
  return on;
}

template <class... Args>
void trace(fmt::format_string<Args...> f, Args&&... args) {
  if (!trace_enabled()) return;
  std::fprintf(stderr, "[trace] %s\n", fmt::format(f, std::forward<Args>(args)...).c_str());
  std::fflush(stderr);
}

}  // namespace lrb
