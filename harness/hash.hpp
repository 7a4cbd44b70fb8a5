#pragma once
#include <cstdint>
#include <string>
#include <string_view>

namespace lrb {

// FNV-1a, 64 bit: a stable fingerprint (config identity, resume keys); not a cryptographic hash.
inline std::uint64_t fnv1a64(std::string_view data) {
  std::uint64_t h = 0xcbf29ce484222325ull;
  for (unsigned char c : data) {
    h ^= c;
    h *= 0x100000001b3ull;
  }
  return h;
}

std::string hex64(std::uint64_t value);

}  // namespace lrb
