#pragma once
// What memory a point may use, read before its problem is built (DESIGN.md section 5: a point that cannot
// fit is skipped with the arithmetic, never left to bad_alloc or the OOM killer).
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "harness/backend.hpp"

namespace lrb {

// A family's up-front estimate of one point: bytes the host and the device hold at its peak, and how
// they were counted (for the skipped record).
struct MemoryEstimate {
  double host_bytes = 0;
  double device_bytes = 0;  // on the CUDA backend
  std::string arithmetic;
};

// Bytes this process may hold: the smaller of physical memory and the cgroup limit (v2 memory.max or v1
// memory.limit_in_bytes) where one is set; `source` says which.
std::uint64_t host_memory_limit(std::string* source = nullptr);
// The same with the cgroup files named (tests).
std::uint64_t host_memory_limit_from(const std::vector<std::string>& cgroup_files, std::string* source = nullptr);
// Free device memory (CUDA backend); nothing without a device.
std::optional<std::uint64_t> device_free_bytes();

// The reason a point with this estimate cannot run here (a skipped record), or nothing. Allows 80% of
// each limit: the rest is the harness's own (references, records, cuBLAS workspaces).
std::optional<std::string> memory_refusal(const MemoryEstimate& estimate, Backend backend);

}  // namespace lrb
