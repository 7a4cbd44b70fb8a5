#pragma once
// KVTC's coefficient coding, CPU reference (issue 11): per token and group of principal components, an fp16
// shift and scale from the group's min and max, then codes of the group's type (int2, int4, int8, or fp8
// e4m3 on the shifted, scaled values), bit-packed LSB-first. The CUDA kernels must match these bit for bit.
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace lrb::kvtc {

// What a group of components is stored as. `dropped` stores nothing (0 bits, no shift or scale).
enum class CodeType : std::uint8_t { dropped = 0, int2 = 1, int4 = 2, int8 = 3, fp8 = 4 };
inline constexpr CodeType kCodeTypes[] = {CodeType::dropped, CodeType::int2, CodeType::int4, CodeType::int8,
                                          CodeType::fp8};
int bits_of(CodeType t);
const char* name_of(CodeType t);
// Bits a kept group of `size` components costs per token: its codes and 32 bits of fp16 shift and scale.
inline int group_bits(CodeType t, int size) { return t == CodeType::dropped ? 0 : size * bits_of(t) + 32; }

// fp16 rounded toward -inf / +inf (the shift must not exceed the minimum, the scale must cover the range,
// so every value lands inside the code range and the error stays within scale / 2).
std::uint16_t fp16_round_down(float x);
std::uint16_t fp16_round_up(float x);
float fp16_value(std::uint16_t h);

// fp8 e4m3 (the OCP / NVIDIA format: bias 7, no infinities, max 448): nearest, ties to even, saturating.
std::uint8_t fp8_e4m3_encode(float x);
float fp8_e4m3_decode(std::uint8_t code);

// One token's group quantized: its shift and scale (fp16 bits) and one code per value (the low bits_of(t)).
struct GroupCodes {
  std::uint16_t shift = 0, scale = 0;
  std::vector<std::uint8_t> codes;
};
GroupCodes quantize_group(std::span<const float> x, CodeType t);
// Writes the decoded values of `codes` (shift + value(code) x scale) into `out`.
void dequantize_group(std::uint16_t shift, std::uint16_t scale, std::span<const std::uint8_t> codes, CodeType t,
                      std::span<float> out);

// LSB-first bit packing of `width`-bit values (1..8): value k occupies bits [k w, (k + 1) w) of the stream,
// bit 0 of the stream being bit 0 of byte 0. `out` grows by ceil(n w / 8) bytes.
void pack_bits(std::span<const std::uint8_t> values, int width, std::vector<std::uint8_t>& out);
// The inverse: reads `count` values from `bytes` (which must hold ceil(count w / 8) of them; errors otherwise).
void unpack_bits(std::span<const std::uint8_t> bytes, int width, std::size_t count, std::vector<std::uint8_t>& out);

}  // namespace lrb::kvtc
