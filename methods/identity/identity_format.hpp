#pragma once
// identity's blob format, shared by its CPU and CUDA paths: KvBlobHeader, then the fp16 keys, then the
// fp16 values, as stored in the cache.
#include <cstdint>

namespace lrb::identity {
constexpr std::uint32_t kMagic = 0x4449564b;  // "KVID"
}  // namespace lrb::identity
