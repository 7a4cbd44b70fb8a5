#include "harness/exec_context.hpp"

#include <algorithm>
#include <cstring>
#include <stdexcept>


namespace lrb {

void ExecContext::fill_bytes(void* dst, unsigned char value, std::size_t bytes, Memory where) {
  if (where != Memory::host) throw std::logic_error("a device output on a host-only backend");
  std::memset(dst, value, bytes);
}

void ExecContext::copy_to_host(void* dst, const void* src, std::size_t bytes, Memory where) {
  if (where != Memory::host) throw std::logic_error("a device output on a host-only backend");
  std::memcpy(dst, src, bytes);
}

std::unique_ptr<ExecContext> make_context(Backend backend) {
  if (backend == Backend::cpu) return std::make_unique<ExecContext>(Backend::cpu);
  return make_device_context();
}

__attribute__((weak)) std::unique_ptr<ExecContext> make_device_context() {
  throw std::runtime_error("this lrbench was built without CUDA");
}

}  // namespace lrb
