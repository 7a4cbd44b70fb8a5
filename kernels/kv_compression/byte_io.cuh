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

// Any n in [0, 8]: pieces of 4, 2 and 1 bytes, each as aligned as its address allows.
__device__ __forceinline__ void store_any(std::uint8_t* p, unsigned long long v, int n) {
  if (n == 8) return store(p, v, 8);
  for (const int piece : {4, 2, 1})
    if (n >= piece) store(p, v, piece), p += piece, v >>= 8 * piece, n -= piece;
}
__device__ __forceinline__ unsigned long long load_any(const std::uint8_t* p, int n) {
  if (n == 8) return load(p, 8);
  unsigned long long v = 0;
  int shift = 0;
  for (const int piece : {4, 2, 1})
    if (n >= piece) v |= load(p, piece) << shift, p += piece, shift += 8 * piece, n -= piece;
  return v;
}

}  // namespace lrb::kernels::byte_io
