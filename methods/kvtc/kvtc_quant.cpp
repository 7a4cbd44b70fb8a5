#include "methods/kvtc/kvtc_quant.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <stdexcept>

#include <Eigen/Core>
#include <fmt/format.h>

namespace lrb::kvtc {

int bits_of(CodeType t) {
  switch (t) {
    case CodeType::dropped: return 0;
    case CodeType::int2: return 2;
    case CodeType::int4: return 4;
    case CodeType::int8: return 8;
    case CodeType::fp8: return 8;
  }
  throw std::invalid_argument("kvtc: unknown code type");
}

const char* name_of(CodeType t) {
  switch (t) {
    case CodeType::dropped: return "dropped";
    case CodeType::int2: return "int2";
    case CodeType::int4: return "int4";
    case CodeType::int8: return "int8";
    case CodeType::fp8: return "fp8_e4m3";
  }
  return "?";
}

namespace {

std::uint16_t bits_of_half(Eigen::half h) { return Eigen::numext::bit_cast<std::uint16_t>(h); }

constexpr std::uint16_t kFp16MaxBits = 0x7BFF, kFp16LowestBits = 0xFBFF;  // +-65504

// The next fp16 toward -inf of a finite value's bits (the bit patterns are sign-magnitude).
std::uint16_t fp16_step_down(std::uint16_t h) {
  if (h == 0x0000) return 0x8001;  // +0 -> the negative subnormal closest to zero
  return (h & 0x8000) ? static_cast<std::uint16_t>(h + 1) : static_cast<std::uint16_t>(h - 1);
}
std::uint16_t fp16_step_up(std::uint16_t h) {
  if (h == 0x8000) return 0x0001;
  return (h & 0x8000) ? static_cast<std::uint16_t>(h - 1) : static_cast<std::uint16_t>(h + 1);
}
bool fp16_finite(std::uint16_t h) { return (h & 0x7C00) != 0x7C00; }

}  // namespace

float fp16_value(std::uint16_t h) { return static_cast<float>(Eigen::half(Eigen::half_impl::raw_uint16_to_half(h))); }

// Values beyond fp16's range saturate at +-65504 (the codes' error bound then no longer holds; caches and
// their principal coefficients are far inside it).
std::uint16_t fp16_round_down(float x) {
  if (!std::isfinite(x)) throw std::invalid_argument("kvtc: non-finite value to quantize");
  std::uint16_t h = bits_of_half(Eigen::half(x));
  if (!fp16_finite(h)) return (h & 0x8000) ? kFp16LowestBits : kFp16MaxBits;
  if (fp16_value(h) > x) h = fp16_step_down(h);
  return h;
}

std::uint16_t fp16_round_up(float x) {
  if (!std::isfinite(x)) throw std::invalid_argument("kvtc: non-finite value to quantize");
  std::uint16_t h = bits_of_half(Eigen::half(x));
  if (!fp16_finite(h)) return (h & 0x8000) ? kFp16LowestBits : kFp16MaxBits;
  if (fp16_value(h) < x && h != kFp16MaxBits) h = fp16_step_up(h);
  return h;
}

namespace {

float fp8_positive(int code) {  // code in [0, 126]
  const int e = code >> 3, m = code & 7;
  return e == 0 ? std::ldexp(static_cast<float>(m) / 8.0f, -6) : std::ldexp(1.0f + static_cast<float>(m) / 8.0f, e - 7);
}

const std::array<float, 127>& fp8_table() {
  static const std::array<float, 127> t = [] {
    std::array<float, 127> v{};
    for (int c = 0; c < 127; ++c) v[c] = fp8_positive(c);
    return v;
  }();
  return t;
}

}  // namespace

std::uint8_t fp8_e4m3_encode(float x) {
  if (std::isnan(x)) return 0x7F;
  const std::uint8_t sign = std::signbit(x) ? 0x80 : 0x00;
  const float a = std::fabs(x);
  const auto& t = fp8_table();
  if (a >= t[126]) return sign | 126;
  // The first code >= a, then the nearer of it and the one below (ties to the even code).
  const int hi = static_cast<int>(std::lower_bound(t.begin(), t.end(), a) - t.begin());
  if (hi == 0) return sign;
  const int lo = hi - 1;
  const float dl = a - t[lo], dh = t[hi] - a;
  const int c = dl < dh ? lo : dh < dl ? hi : ((lo & 1) == 0 ? lo : hi);
  return static_cast<std::uint8_t>(sign | c);
}

float fp8_e4m3_decode(std::uint8_t code) {
  if ((code & 0x7F) == 0x7F) return std::numeric_limits<float>::quiet_NaN();
  const float v = fp8_positive(code & 0x7F);
  return (code & 0x80) ? -v : v;
}

namespace {
// The largest value the shifted, scaled group is mapped to: the top integer code, or fp8's 448.
float top_of(CodeType t) { return t == CodeType::fp8 ? 448.0f : static_cast<float>((1 << bits_of(t)) - 1); }
}  // namespace

GroupParams quantize_group_into(std::span<const float> x, CodeType t, std::span<std::uint8_t> codes) {
  if (codes.size() != x.size()) throw std::invalid_argument("kvtc: codes for a group of another size");
  GroupParams g;
  if (t == CodeType::dropped || x.empty()) return g;
  for (float v : x)
    if (!std::isfinite(v)) throw std::invalid_argument("kvtc: non-finite value to quantize");
  const auto [mn, mx] = std::minmax_element(x.begin(), x.end());
  g.shift = fp16_round_down(*mn);
  const float shift = fp16_value(g.shift);
  const float span = *mx - shift;
  g.scale = span > 0 ? fp16_round_up(span / top_of(t)) : 0;
  const float scale = fp16_value(g.scale);
  const float top = top_of(t);
  for (std::size_t i = 0; i < x.size(); ++i) {
    const float y = scale > 0 ? std::clamp((x[i] - shift) / scale, 0.0f, top) : 0.0f;
    codes[i] = t == CodeType::fp8 ? fp8_e4m3_encode(y) : static_cast<std::uint8_t>(std::lrint(y));
  }
  return g;
}

GroupCodes quantize_group(std::span<const float> x, CodeType t) {
  GroupCodes g;
  if (t == CodeType::dropped || x.empty()) return g;
  g.codes.resize(x.size());
  const GroupParams p = quantize_group_into(x, t, g.codes);
  g.shift = p.shift, g.scale = p.scale;
  return g;
}

void dequantize_group(std::uint16_t shift_bits, std::uint16_t scale_bits, std::span<const std::uint8_t> codes,
                      CodeType t, std::span<float> out) {
  if (out.size() != codes.size()) throw std::invalid_argument("kvtc: dequantize into a group of another size");
  const float shift = fp16_value(shift_bits), scale = fp16_value(scale_bits);
  for (std::size_t i = 0; i < codes.size(); ++i) {
    const float v = t == CodeType::fp8 ? fp8_e4m3_decode(codes[i]) : static_cast<float>(codes[i]);
    out[i] = shift + v * scale;
  }
}

std::uint32_t BitReader::get(int width) {
  while (held_ < width) {
    if (next_ >= in_.size()) throw std::runtime_error("kvtc: bit stream read past its end");
    acc_ |= static_cast<std::uint64_t>(in_[next_++]) << held_;
    held_ += 8;
  }
  const auto v = static_cast<std::uint32_t>(acc_ & ((1u << width) - 1));
  acc_ >>= width;
  held_ -= width;
  return v;
}

void pack_bits(std::span<const std::uint8_t> values, int width, std::vector<std::uint8_t>& out) {
  if (width < 1 || width > 8) throw std::invalid_argument(fmt::format("kvtc: bit width {} outside 1..8", width));
  BitWriter w(out);
  for (std::uint8_t v : values) w.put(v, width);
  w.finish();
}

void unpack_bits(std::span<const std::uint8_t> bytes, int width, std::size_t count, std::vector<std::uint8_t>& out) {
  if (width < 1 || width > 8) throw std::invalid_argument(fmt::format("kvtc: bit width {} outside 1..8", width));
  const std::size_t need = (count * static_cast<std::size_t>(width) + 7) / 8;
  if (bytes.size() < need)
    throw std::runtime_error(fmt::format("kvtc: {} values of {} bits need {} bytes, {} given", count, width, need,
                                         bytes.size()));
  BitReader r(bytes);
  out.resize(count);
  for (std::size_t k = 0; k < count; ++k) out[k] = static_cast<std::uint8_t>(r.get(width));
}

}  // namespace lrb::kvtc
