#pragma once
// Loads and stores of 1-8 little-endian bytes at any address: the blob's sections start at any byte (their
// layout is the CPU path's, packed), so a vector access is used only where the address allows it, else bytes.
// Included by .cu files only.
#include <cstdint>

namespace lrb::kernels::byte_io {

// n in {1, 2, 4, 8}: the low n bytes of v to p.
__device__ __forceinline__ void store(std::uint8_t* p, unsigned long long v, int n) {
  const auto a = reinterpret_cast<std::uintptr_t>(p);
  if (n == 8 && (a & 7) == 0) {
    *reinterpret_cast<unsigned long long*>(p) = v;
  } else if (n >= 4 && (a & 3) == 0) {
    for (int i = 0; i < n; i += 4) *reinterpret_cast<unsigned*>(p + i) = static_cast<unsigned>(v >> (8 * i));
  } else if (n >= 2 && (a & 1) == 0) {
    for (int i = 0; i < n; i += 2)
      *reinterpret_cast<unsigned short*>(p + i) = static_cast<unsigned short>(v >> (8 * i));
  } else {
    for (int i = 0; i < n; ++i) p[i] = static_cast<std::uint8_t>(v >> (8 * i));
  }
}

// n in {1, 2, 4, 8}: n bytes from p, the first the lowest.
__device__ __forceinline__ unsigned long long load(const std::uint8_t* p, int n) {
  const auto a = reinterpret_cast<std::uintptr_t>(p);
  unsigned long long v = 0;
  if (n == 8 && (a & 7) == 0) {
    v = *reinterpret_cast<const unsigned long long*>(p);
  } else if (n >= 4 && (a & 3) == 0) {
    for (int i = 0; i < n; i += 4)
      v |= static_cast<unsigned long long>(*reinterpret_cast<const unsigned*>(p + i)) << (8 * i);
  } else if (n >= 2 && (a & 1) == 0) {
    for (int i = 0; i < n; i += 2)
      v |= static_cast<unsigned long long>(*reinterpret_cast<const unsigned short*>(p + i)) << (8 * i);
  } else {
    for (int i = 0; i < n; ++i) v |= static_cast<unsigned long long>(p[i]) << (8 * i);
  }
  return v;
}

// Any n in [0, 8]: pieces of 4, 2 and 1 bytes, each as aligned as its address allows (written out: a loop over
// an initializer list puts the list in local memory).
__device__ __forceinline__ void store_any(std::uint8_t* p, unsigned long long v, int n) {
  if (n == 8) return store(p, v, 8);
  if (n >= 4) store(p, v, 4), p += 4, v >>= 32, n -= 4;
  if (n >= 2) store(p, v, 2), p += 2, v >>= 16, n -= 2;
  if (n >= 1) store(p, v, 1);
}
__device__ __forceinline__ unsigned long long load_any(const std::uint8_t* p, int n) {
  if (n == 8) return load(p, 8);
  unsigned long long v = 0;
  int shift = 0;
  if (n >= 4) v |= load(p, 4), p += 4, shift = 32, n -= 4;
  if (n >= 2) v |= load(p, 2) << shift, p += 2, shift += 16, n -= 2;
  if (n >= 1) v |= load(p, 1) << shift;
  return v;
}

}  // namespace lrb::kernels::byte_io
