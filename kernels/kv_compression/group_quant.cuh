#pragma once
// Device helpers shared by the group quantizers (kvtc, kivi, int4_per_token): the CPU reference's float
// operations (methods/kvtc/kvtc_quant.cpp, quantize_group / dequantize_group) in the same order, so the same
// inputs give the same shift, scale and codes bit for bit. Included by .cu files only.
#include <cuda_fp16.h>
#include <cuda_fp8.h>

namespace lrb::kernels::group_quant {

// Code types as methods/kvtc/kvtc_quant.hpp numbers them.
enum : int { kDropped = 0, kInt2 = 1, kInt4 = 2, kInt8 = 3, kFp8 = 4 };

// The integer code type of a width in bits (2, 4 or 8): the baselines' group quantizers.
__device__ __forceinline__ int int_type_of(int bits) { return bits == 2 ? kInt2 : bits == 4 ? kInt4 : kInt8; }

// Eight fp16 values of one 16-byte load as floats (exact).
__device__ __forceinline__ void unpack8(const uint4& r, float f[8]) {
  const __half2* h = reinterpret_cast<const __half2*>(&r);
  for (int i = 0; i < 4; ++i) {
    const float2 v = __half22float2(h[i]);
    f[2 * i] = v.x, f[2 * i + 1] = v.y;
  }
}

__device__ __forceinline__ int bits_of(int type) { return type == kInt2 ? 2 : type == kInt4 ? 4 : 8; }
__device__ __forceinline__ float top_of(int type) {
  return type == kFp8 ? 448.0f : static_cast<float>((1 << bits_of(type)) - 1);
}

// fp16 rounded toward -inf / +inf, saturating at +-65504 as the CPU reference does.
__device__ __forceinline__ unsigned saturate(unsigned short b) {
  if ((b & 0x7C00u) == 0x7C00u) return (b & 0x8000u) ? 0xFBFFu : 0x7BFFu;
  return b;
}
__device__ __forceinline__ unsigned round_down(float x) { return saturate(__half_as_ushort(__float2half_rd(x))); }
__device__ __forceinline__ unsigned round_up(float x) { return saturate(__half_as_ushort(__float2half_ru(x))); }
__device__ __forceinline__ float half_bits_value(unsigned b) {
  return __half2float(__ushort_as_half(static_cast<unsigned short>(b)));
}

// A group's fp16 shift and scale from its min and max.
struct ShiftScale {
  unsigned shift_bits, scale_bits;
  float shift, scale, top;
};
__device__ __forceinline__ ShiftScale shift_scale(float mn, float mx, int type) {
  ShiftScale s;
  s.shift_bits = round_down(mn);
  s.shift = half_bits_value(s.shift_bits);
  s.top = top_of(type);
  const float span = __fsub_rn(mx, s.shift);
  s.scale_bits = span > 0.0f ? round_up(__fdiv_rn(span, s.top)) : 0u;
  s.scale = half_bits_value(s.scale_bits);
  return s;
}

__device__ __forceinline__ unsigned code_of(float x, const ShiftScale& s, int type) {
  float y = 0.0f;
  if (s.scale > 0.0f) {
    y = __fdiv_rn(__fsub_rn(x, s.shift), s.scale);
    y = y < 0.0f ? 0.0f : (s.top < y ? s.top : y);  // std::clamp's comparisons
  }
  return type == kFp8 ? static_cast<unsigned>(__nv_cvt_float_to_fp8(y, __NV_SATFINITE, __NV_E4M3))
                      : static_cast<unsigned>(__float2int_rn(y));
}

__device__ __forceinline__ float value_of(unsigned code, float shift, float scale, int type) {
  const float v = type == kFp8
                      ? __half2float(__half(__nv_cvt_fp8_to_halfraw(static_cast<__nv_fp8_storage_t>(code), __NV_E4M3)))
                      : static_cast<float>(code);
  return __fadd_rn(shift, __fmul_rn(v, scale));
}

__device__ __forceinline__ float warp_min(float v) {
  for (int o = 16; o > 0; o /= 2) v = fminf(v, __shfl_xor_sync(0xffffffffu, v, o));
  return v;
}
__device__ __forceinline__ float warp_max(float v) {
  for (int o = 16; o > 0; o /= 2) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
  return v;
}

}  // namespace lrb::kernels::group_quant
