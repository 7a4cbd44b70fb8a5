#include "harness/cuda/device_buffer.hpp"

namespace lrb::cuda {
namespace {
std::atomic<std::int64_t> g_current{0}, g_peak{0};
}  // namespace

void DeviceMemoryCounter::add(std::int64_t bytes) {
  const std::int64_t now = g_current.fetch_add(bytes) + bytes;
  std::int64_t peak = g_peak.load();
  while (now > peak && !g_peak.compare_exchange_weak(peak, now)) {
  }
}
std::int64_t DeviceMemoryCounter::current() { return g_current.load(); }
std::int64_t DeviceMemoryCounter::peak() { return g_peak.load(); }
void DeviceMemoryCounter::reset_peak() { g_peak.store(g_current.load()); }

}  // namespace lrb::cuda
