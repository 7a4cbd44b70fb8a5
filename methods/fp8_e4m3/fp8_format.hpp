#pragma once
// fp8_e4m3 blob tag, shared by the CPU and CUDA paths.
#include <cstdint>

namespace lrb::fp8_e4m3 {
inline constexpr std::uint32_t kMagic = 0x3846564b;  // "KVF8"
}  // namespace lrb::fp8_e4m3
