#pragma once
// int8_per_token's blob format, shared by its CPU and CUDA paths: KvBlobHeader, then per tensor (keys,
// values) all fp16 scales (one per layer x token), then all int8 codes.
#include <cstdint>

namespace lrb::int8_per_token {
constexpr std::uint32_t kMagic = 0x3849564b;  // "KVI8"
}  // namespace lrb::int8_per_token
