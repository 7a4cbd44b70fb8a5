// Interposes the glibc allocation entry points in the executable and counts live bytes.
// Why interposition and not a counting operator new: Eigen's temporaries come from std::malloc, and
// the memory pass must see them (FlashSVD-style transient memory is a headline metric).
#include <malloc.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cerrno>

#include "harness/host_memory.hpp"

extern "C" {
void* __libc_malloc(std::size_t);
void __libc_free(void*);
void* __libc_calloc(std::size_t, std::size_t);
void* __libc_realloc(void*, std::size_t);
void* __libc_memalign(std::size_t, std::size_t);
}

namespace {
std::atomic<std::int64_t> g_current{0};
std::atomic<std::int64_t> g_peak{0};

inline void on_alloc(void* p) {
  if (!p) return;
  const auto n = static_cast<std::int64_t>(malloc_usable_size(p));
  const std::int64_t now = g_current.fetch_add(n, std::memory_order_relaxed) + n;
  std::int64_t peak = g_peak.load(std::memory_order_relaxed);
  while (now > peak && !g_peak.compare_exchange_weak(peak, now, std::memory_order_relaxed)) {
  }
}
inline void on_free(void* p) {
  if (!p) return;
  g_current.fetch_sub(static_cast<std::int64_t>(malloc_usable_size(p)), std::memory_order_relaxed);
}
}  // namespace

extern "C" {
void* malloc(std::size_t n) {
  void* p = __libc_malloc(n);
  on_alloc(p);
  return p;
}
void free(void* p) {
  on_free(p);
  __libc_free(p);
}
void* calloc(std::size_t count, std::size_t size) {
  void* p = __libc_calloc(count, size);
  on_alloc(p);
  return p;
}
void* realloc(void* old, std::size_t n) {
  const auto before = old ? static_cast<std::int64_t>(malloc_usable_size(old)) : 0;
  void* p = __libc_realloc(old, n);
  if (p || n == 0) {
    g_current.fetch_sub(before, std::memory_order_relaxed);
    on_alloc(p);
  }
  return p;
}
void* memalign(std::size_t alignment, std::size_t n) {
  void* p = __libc_memalign(alignment, n);
  on_alloc(p);
  return p;
}
void* aligned_alloc(std::size_t alignment, std::size_t n) { return memalign(alignment, n); }
int posix_memalign(void** out, std::size_t alignment, std::size_t n) {
  if (alignment % sizeof(void*) != 0 || (alignment & (alignment - 1)) != 0) return EINVAL;
  void* p = memalign(alignment, n);
  if (!p && n != 0) return ENOMEM;
  *out = p;
  return 0;
}
void* valloc(std::size_t n) { return memalign(4096, n); }
}

namespace lrb::host_memory {
bool counting() { return true; }
std::int64_t current_bytes() { return g_current.load(std::memory_order_relaxed); }
std::int64_t peak_bytes() { return g_peak.load(std::memory_order_relaxed); }
void reset_peak() { g_peak.store(g_current.load(std::memory_order_relaxed), std::memory_order_relaxed); }
}  // namespace lrb::host_memory
