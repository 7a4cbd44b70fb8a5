#pragma once
// Host heap accounting for the CPU backend's memory pass. harness/detail/host_alloc_counter.cpp
// interposes malloc & co. in the executable (glibc), so every allocation (operator new, Eigen's
// aligned temporaries, std::vector) is counted by its usable size.
#include <cstdint>

namespace lrb::host_memory {

bool counting();               // false where the counter is not linked in (then the pass says so)
std::int64_t current_bytes();  // live heap bytes
std::int64_t peak_bytes();     // high-water mark since the last reset_peak()
void reset_peak();             // peak := current

}  // namespace lrb::host_memory
