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
// The same into `codes` (x.size() of them), without allocating: the plan's error tables quantize every aligned
// slot of every held-out token at every type (per_head: ~150M groups for Llama-2-7B).
struct GroupParams {
  std::uint16_t shift = 0, scale = 0;
};
GroupParams quantize_group_into(std::span<const float> x, CodeType t, std::span<std::uint8_t> codes);
// Writes the decoded values of `codes` (shift + value(code) x scale) into `out`.
void dequantize_group(std::uint16_t shift, std::uint16_t scale, std::span<const std::uint8_t> codes, CodeType t,
                      std::span<float> out);

// An LSB-first bit stream: values of 1..8 bits appended at the next free bit (bit 0 of the stream is bit 0
// of byte 0); finish() pads the last byte with zeros.
class BitWriter {
 public:
  explicit BitWriter(std::vector<std::uint8_t>& out) : out_(out) {}
  void put(std::uint32_t value, int width) {
    acc_ |= static_cast<std::uint64_t>(value & ((1u << width) - 1)) << held_;
    held_ += width;
    while (held_ >= 8) {
      out_.push_back(static_cast<std::uint8_t>(acc_ & 0xFF));
      acc_ >>= 8;
      held_ -= 8;
    }
  }
  void finish() {
    if (held_ > 0) out_.push_back(static_cast<std::uint8_t>(acc_ & 0xFF));
    acc_ = 0, held_ = 0;
  }

 private:
  std::vector<std::uint8_t>& out_;
  std::uint64_t acc_ = 0;
  int held_ = 0;
};

// Its reader over a span the caller has sized (bits beyond the span read as an error).
class BitReader {
 public:
  explicit BitReader(std::span<const std::uint8_t> in) : in_(in) {}
  std::uint32_t get(int width);

 private:
  std::span<const std::uint8_t> in_;
  std::size_t next_ = 0;
  std::uint64_t acc_ = 0;
  int held_ = 0;
};

// LSB-first bit packing of `width`-bit values (1..8): value k occupies bits [k w, (k + 1) w) of the stream,
// bit 0 of the stream being bit 0 of byte 0. `out` grows by ceil(n w / 8) bytes.
void pack_bits(std::span<const std::uint8_t> values, int width, std::vector<std::uint8_t>& out);
// The inverse: reads `count` values from `bytes` (which must hold ceil(count w / 8) of them; errors otherwise).
void unpack_bits(std::span<const std::uint8_t> bytes, int width, std::size_t count, std::vector<std::uint8_t>& out);

}  // namespace lrb::kvtc
