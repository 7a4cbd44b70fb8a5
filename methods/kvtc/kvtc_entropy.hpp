#pragma once
// The entropy stage of kvtc on the CPU: none, DEFLATE (libdeflate) or zstd (libzstd) over the packed
// payload. Decoding is told the exact size to expect and refuses anything else. gdeflate and ans are nvCOMP's
// GPU codecs (methods/kvtc/kvtc_nvcomp_cuda.cpp); on the GPU deflate and zstd are nvCOMP's too.
#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace lrb::kvtc {

enum class Entropy : std::uint8_t { none = 0, deflate = 1, zstd = 2, gdeflate = 3, ans = 4 };
// Whether the CPU path codes it (gdeflate and ans exist on the GPU only).
inline bool on_cpu(Entropy e) { return e == Entropy::none || e == Entropy::deflate || e == Entropy::zstd; }
Entropy parse_entropy(const std::string& name);  // errors name the accepted values
const char* name_of(Entropy e);

// Appends the coded `payload` to `out`.
void entropy_encode(Entropy e, std::span<const std::uint8_t> payload, std::vector<std::uint8_t>& out);
// Decodes `coded` into exactly `expected` bytes (errors: corrupt data, another size).
void entropy_decode(Entropy e, std::span<const std::uint8_t> coded, std::size_t expected,
                    std::vector<std::uint8_t>& out);

}  // namespace lrb::kvtc
