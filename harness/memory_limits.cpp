#include "harness/memory_limits.hpp"

#include <unistd.h>

#include <algorithm>
#include <fstream>

#include <fmt/format.h>

namespace lrb {
namespace {

std::optional<std::uint64_t> read_limit(const char* path) {
  std::ifstream in(path);
  std::string text;
  if (!(in >> text) || text == "max") return std::nullopt;
  try {
    const unsigned long long v = std::stoull(text);
    if (v == 0 || v >= (1ull << 62)) return std::nullopt;  // v1 writes a huge number for "no limit"
    return v;
  } catch (...) {
    return std::nullopt;
  }
}

double gib(double bytes) { return bytes / (1024.0 * 1024.0 * 1024.0); }

}  // namespace

std::uint64_t host_memory_limit(std::string* source) {
  return host_memory_limit_from({"/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"}, source);
}

std::uint64_t host_memory_limit_from(const std::vector<std::string>& cgroup_files, std::string* source) {
  const long pages = ::sysconf(_SC_PHYS_PAGES), size = ::sysconf(_SC_PAGE_SIZE);
  std::uint64_t limit = pages > 0 && size > 0 ? static_cast<std::uint64_t>(pages) * static_cast<std::uint64_t>(size) : 0;
  if (source) *source = "physical memory";
  for (const auto& path : cgroup_files)
    if (auto cg = read_limit(path.c_str()); cg && (limit == 0 || *cg < limit)) {
      limit = *cg;
      if (source) *source = fmt::format("the cgroup limit ({})", path);
    }
  return limit;
}

__attribute__((weak)) std::optional<std::uint64_t> device_free_bytes() { return std::nullopt; }

std::optional<std::string> memory_refusal(const MemoryEstimate& e, Backend backend) {
  std::string source;
  const double host = static_cast<double>(host_memory_limit(&source));
  if (host > 0 && e.host_bytes > 0.8 * host)
    return fmt::format("needs ~{:.2f} GiB of host memory ({}), more than 80% of {:.2f} GiB ({})", gib(e.host_bytes),
                       e.arithmetic, gib(host), source);
  if (backend == Backend::cuda)
    if (const auto free = device_free_bytes(); free && e.device_bytes > 0.8 * static_cast<double>(*free))
      return fmt::format("needs ~{:.2f} GiB of device memory ({}), more than 80% of the {:.2f} GiB free",
                         gib(e.device_bytes), e.arithmetic, gib(static_cast<double>(*free)));
  return std::nullopt;
}

}  // namespace lrb
