#pragma once
// A minimal parallel loop for untimed preparation work (problem generation, encoders).
#include <algorithm>
#include <atomic>
#include <cstddef>
#include <exception>
#include <thread>
#include <vector>

namespace lrb {

// Whether this thread is one of a parallel_for's workers.
inline bool& inside_parallel_for() {
  thread_local bool inside = false;
  return inside;
}

// Runs f(i) for i in [0, n) on the machine's cores. Callers make each i write only its own slot and draw
// from its own RNG streams, so results do not depend on the number of threads. The first exception thrown
// by any f(i) is rethrown after all threads have joined. A parallel_for inside another one runs on its
// caller's thread: the outer loop already has every core, and starting threads per inner call (kvtc's plan
// inside its per-stream calibration: 1024 streams x 5 group sizes) cost more than the work.
template <class F>
void parallel_for(std::size_t n, F&& f) {
  if (inside_parallel_for() || n <= 1) {
    for (std::size_t i = 0; i < n; ++i) f(i);
    return;
  }
  const std::size_t threads = std::max<std::size_t>(1, std::min<std::size_t>(n, std::thread::hardware_concurrency()));
  std::atomic<std::size_t> next{0};
  std::vector<std::exception_ptr> errors(threads);
  std::vector<std::thread> pool;
  for (std::size_t t = 0; t < threads; ++t)
    pool.emplace_back([&, t] {
      inside_parallel_for() = true;
      try {
        for (std::size_t i = next++; i < n; i = next++) f(i);
      } catch (...) {
        errors[t] = std::current_exception();
      }
    });
  for (auto& th : pool) th.join();
  for (auto& e : errors)
    if (e) std::rethrow_exception(e);
}

}  // namespace lrb
