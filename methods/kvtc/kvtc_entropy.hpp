#pragma once
// The entropy stage of kvtc on the CPU: none, DEFLATE (libdeflate) or zstd (libzstd) over the packed
// payload. Decoding is told the exact size to expect and refuses anything else.
#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace lrb::kvtc {

enum class Entropy : std::uint8_t { none = 0, deflate = 1, zstd = 2 };
Entropy parse_entropy(const std::string& name);  // errors name the accepted values
const char* name_of(Entropy e);

// Appends the coded `payload` to `out`.
void entropy_encode(Entropy e, std::span<const std::uint8_t> payload, std::vector<std::uint8_t>& out);
// Decodes `coded` into exactly `expected` bytes (errors: corrupt data, another size).
void entropy_decode(Entropy e, std::span<const std::uint8_t> coded, std::size_t expected,
                    std::vector<std::uint8_t>& out);

}  // namespace lrb::kvtc
