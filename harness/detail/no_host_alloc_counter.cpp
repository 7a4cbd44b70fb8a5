// Used when LRBENCH_COUNT_HOST_ALLOCATIONS=OFF (sanitizer builds): the memory pass reports no numbers.
#include "harness/host_memory.hpp"

namespace lrb::host_memory {
bool counting() { return false; }
std::int64_t current_bytes() { return 0; }
std::int64_t peak_bytes() { return 0; }
void reset_peak() {}
}  // namespace lrb::host_memory
