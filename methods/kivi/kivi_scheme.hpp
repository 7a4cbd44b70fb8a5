#pragma once
// kivi and int4_per_token: the scheme both paths share (kivi.cpp on the CPU, kivi_cuda.cpp on the GPU).
// Blob: KvBlobHeader, {keys per channel, bits, group, quantized tokens} as u32, then per tensor (keys, values):
// every group's fp16 shift and scale, the packed codes (LSB-first), the raw tokens [quantized, tokens) of
// every layer in fp16.
#include <algorithm>
#include <cstdint>
#include <span>
#include <vector>

#include "harness/params.hpp"
#include "methods/kvtc/kvtc_quant.hpp"
#include "workloads/kv_compression/problem.hpp"

namespace lrb::kivi {

inline constexpr std::uint32_t kMagic = 0x5649564b;  // "KVIV"

struct Scheme {
  bool keys_per_channel = true;  // kivi; int4_per_token: false
  int bits = 2, group = 32, residual = 128;
  static Scheme of(const Params& p, bool kivi) {
    Scheme s;
    s.keys_per_channel = kivi;
    s.bits = static_cast<int>(p.integer("bits"));
    s.group = static_cast<int>(p.integer("group"));
    s.residual = kivi ? static_cast<int>(p.integer("residual")) : 0;
    return s;
  }
  kvtc::CodeType type() const {
    return bits == 2 ? kvtc::CodeType::int2 : bits == 4 ? kvtc::CodeType::int4 : kvtc::CodeType::int8;
  }
  // Tokens quantized: the rest (the recent residual, and a key group's remainder) stay raw.
  int quantized(int tokens) const {
    const int q = std::max(0, tokens - residual);
    return keys_per_channel ? q / group * group : q;
  }
};

// The CPU path's blob of a cache (keys, values) under a scheme, and its decoder: any bytes give a cache of the
// expected shape or one clear error (the fuzz target's entry, fuzz/fuzz_kivi_blob.cpp).
void encode_blob(const KvTensor& keys, const KvTensor& values, const Scheme& s, std::vector<std::uint8_t>& blob);
void decode_blob(std::span<const std::uint8_t> blob, const Scheme& s, KvTensor& keys, KvTensor& values);

}  // namespace lrb::kivi
