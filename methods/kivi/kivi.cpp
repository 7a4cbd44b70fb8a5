// kivi and int4_per_token, CPU paths: the quantization baselines KVTC is compared with (issue 11).
//   kivi (Liu et al., ICML 2024, "KIVI: a tuning-free asymmetric 2bit quantization for KV cache"): keys
//     quantized per channel (each channel's values over `group` consecutive tokens share one fp16 shift and
//     scale), values per token (groups of `group` consecutive channels of the token's vector), the last
//     `residual` tokens, plus those that do not fill a key group, kept raw in fp16. Keys as cached (RoPE
//     applied), as KIVI quantizes them.
//   int4_per_token: keys and values alike per token, groups of `group` channels, no raw tokens.
// Codes are kvtc's (methods/kvtc/kvtc_quant.hpp): fp16 shift/scale rounded outward, LSB-first packing.
// Blob: header {magic, shape, scheme, bits, group, quantized tokens}, shifts and scales, packed codes, raw
// tokens; every size follows from the header and is checked before it is read.
#include <cstring>

#include <fmt/format.h>

#include "harness/registry.hpp"
#include "methods/kivi/kivi_scheme.hpp"
#include "methods/kvtc/kvtc_quant.hpp"
#include "workloads/kv_compression/blob.hpp"
#include "workloads/kv_compression/method_base.hpp"

namespace lrb {
namespace {

using kivi::kMagic;
using kivi::Scheme;

// The groups of one tensor: each a list of element indices into the tensor's data, in a fixed order.
template <class F>
void for_each_group(const KvTensor& t, const Scheme& s, bool keys, int quantized, F&& f) {
  std::vector<std::size_t> idx;
  if (keys && s.keys_per_channel) {
    for (int l = 0; l < t.layers; ++l)
      for (int h = 0; h < t.heads; ++h)
        for (int d = 0; d < t.head_dim; ++d)
          for (int g = 0; g < quantized; g += s.group) {
            idx.clear();
            for (int tok = g; tok < g + s.group; ++tok) idx.push_back(t.index(l, tok, h, d));
            f(idx);
          }
    return;
  }
  const int width = static_cast<int>(t.token_width());
  for (int l = 0; l < t.layers; ++l)
    for (int tok = 0; tok < quantized; ++tok)
      for (int c = 0; c < width; c += s.group) {
        idx.clear();
        for (int k = c; k < std::min(width, c + s.group); ++k) idx.push_back(t.index(l, tok, 0, 0) + k);
        f(idx);
      }
}

}  // namespace

namespace kivi {

void encode_blob(const KvTensor& keys, const KvTensor& values, const Scheme& s, std::vector<std::uint8_t>& blob) {
  blob.clear();
  const int q = s.quantized(keys.tokens);
  BlobWriter w(blob);
  w.put(KvBlobHeader{kMagic, static_cast<std::uint32_t>(keys.layers), static_cast<std::uint32_t>(keys.tokens),
                     static_cast<std::uint32_t>(keys.heads), static_cast<std::uint32_t>(keys.head_dim)});
  for (std::uint32_t v : {static_cast<std::uint32_t>(s.keys_per_channel), static_cast<std::uint32_t>(s.bits),
                          static_cast<std::uint32_t>(s.group), static_cast<std::uint32_t>(q)})
    w.put(v);
  std::vector<std::uint8_t> codes;
  std::vector<float> x;
  for (int which = 0; which < 2; ++which) {
    const KvTensor& t = which == 0 ? keys : values;
    codes.clear();
    kvtc::BitWriter bits(codes);
    for_each_group(t, s, which == 0, q, [&](const std::vector<std::size_t>& idx) {
      x.resize(idx.size());
      for (std::size_t i = 0; i < idx.size(); ++i) x[i] = static_cast<float>(t.data[idx[i]]);
      const kvtc::GroupCodes g = kvtc::quantize_group(x, s.type());
      w.put(g.shift), w.put(g.scale);
      for (std::uint8_t c : g.codes) bits.put(c, s.bits);
    });
    bits.finish();
    w.put_bytes(codes.data(), codes.size());
    for (int l = 0; l < t.layers; ++l)
      for (int tok = q; tok < t.tokens; ++tok) w.put_bytes(&t.data[t.index(l, tok, 0, 0)], t.token_width() * sizeof(Half));
  }
}

void decode_blob(std::span<const std::uint8_t> blob, const Scheme& s, KvTensor& keys, KvTensor& values) {
  BlobReader r(blob);
  const auto h = r.get<KvBlobHeader>();
  if (h.magic != kMagic) throw std::runtime_error("kivi blob: not a kivi/int4_per_token blob (format tag)");
  h.expect_shape_of(keys, "kivi");
  const auto per_channel = r.get<std::uint32_t>(), bits = r.get<std::uint32_t>(), group = r.get<std::uint32_t>(),
             q = r.get<std::uint32_t>();
  if (per_channel != static_cast<std::uint32_t>(s.keys_per_channel) || bits != static_cast<std::uint32_t>(s.bits) ||
      group != static_cast<std::uint32_t>(s.group) || q != static_cast<std::uint32_t>(s.quantized(keys.tokens)))
    throw std::runtime_error(fmt::format("kivi blob: scheme {}/{} bits/group {}/{} quantized tokens differs from the "
                                         "method's", per_channel, bits, group, q));
  std::vector<float> y;
  std::vector<std::uint8_t> codes;
  for (int which = 0; which < 2; ++which) {
    KvTensor& t = which == 0 ? keys : values;
    std::vector<std::pair<std::uint16_t, std::uint16_t>> params;
    std::size_t values_coded = 0;
    for_each_group(t, s, which == 0, static_cast<int>(q), [&](const std::vector<std::size_t>& idx) {
      const auto shift = r.get<std::uint16_t>(), scale = r.get<std::uint16_t>();
      params.emplace_back(shift, scale);
      values_coded += idx.size();
    });
    const std::size_t code_bytes = (values_coded * s.bits + 7) / 8;
    kvtc::BitReader br(std::span<const std::uint8_t>(r.take(code_bytes), code_bytes));
    std::size_t k = 0;
    for_each_group(t, s, which == 0, static_cast<int>(q), [&](const std::vector<std::size_t>& idx) {
      codes.resize(idx.size());
      for (auto& c : codes) c = static_cast<std::uint8_t>(br.get(s.bits));
      y.resize(idx.size());
      kvtc::dequantize_group(params[k].first, params[k].second, codes, s.type(), y);
      ++k;
      for (std::size_t i = 0; i < idx.size(); ++i) t.data[idx[i]] = to_half(y[i]);
    });
    for (int l = 0; l < t.layers; ++l)
      for (int tok = static_cast<int>(q); tok < t.tokens; ++tok) {
        const std::size_t n = t.token_width() * sizeof(Half);
        std::memcpy(&t.data[t.index(l, tok, 0, 0)], r.take(n), n);
      }
  }
}

}  // namespace kivi

namespace {

class GroupQuantCpu : public CpuKvMethod {
 public:
  GroupQuantCpu(const Params& p, bool kivi) : s_(Scheme::of(p, kivi)) {}

  void prepare(const Problem& problem, ExecContext&) override {
    p_ = &static_cast<const KvProblem&>(problem);
    allocate_outputs(*p_);
  }

  std::vector<std::pair<int, int>> raw_tokens() const override {
    const int q = s_.quantized(p_->keys.tokens);
    if (q >= p_->keys.tokens) return {};
    return {{q, p_->keys.tokens}};
  }

  void compress(ExecContext&) override { kivi::encode_blob(p_->keys, p_->values, s_, blob_); }

  void decompress(ExecContext&) override { kivi::decode_blob(blob_, s_, keys_out_, values_out_); }

  KvSizes measure_sizes(ExecContext&) override {
    KvSizes k;
    k.blob_bytes = blob_.size();
    k.capacity_bytes = blob_.capacity();
    k.raw_token_bytes = 2ull * p_->keys.layers * (p_->keys.tokens - s_.quantized(p_->keys.tokens)) *
                        p_->keys.token_width() * sizeof(Half);
    return k;
  }
  Footprint footprint() const override { return {{{"blob", blob_.size()}}}; }

 private:
  Scheme s_;
};

class KiviCpu final : public GroupQuantCpu {
 public:
  explicit KiviCpu(const Params& p) : GroupQuantCpu(p, true) {}
};
class Int4PerTokenCpu final : public GroupQuantCpu {
 public:
  explicit Int4PerTokenCpu(const Params& p) : GroupQuantCpu(p, false) {}
};

}  // namespace

LRBENCH_DECLARE_METHOD(
    kv_compression, "kivi",
    {.description = "KIVI (ICML 2024): keys per channel over groups of tokens, values per token over groups of "
                    "channels, fp16 shift/scale, the recent tokens raw (baseline)",
     .params = {{"bits", ParamType::integer, 2, "code bits: 2 or 4", 2.0, 4.0, {}},
                {"group", ParamType::integer, 32, "group size (tokens for keys, channels for values)", 1.0, 65536.0, {}},
                {"residual", ParamType::integer, 128, "recent tokens kept raw in fp16", 0.0, 1048576.0, {}}},
     .traits = {.tolerance = MethodTraits::lossy},
     .supports = [](const Point&, const Params& p) {
       return p.integer("bits") == 3 ? Support::no("kivi codes are 2 or 4 bits") : Support::yes();
     }});
LRBENCH_DECLARE_METHOD(
    kv_compression, "int4_per_token",
    {.description = "int4 per token, keys and values alike, groups of channels with fp16 shift/scale (baseline)",
     .params = {{"bits", ParamType::integer, 4, "code bits", 4.0, 4.0, {}},
                {"group", ParamType::integer, 128, "channels per group", 1.0, 65536.0, {}}},
     .traits = {.tolerance = MethodTraits::lossy}});
LRBENCH_REGISTER_BACKEND("kivi", cpu, KiviCpu);
LRBENCH_REGISTER_BACKEND("int4_per_token", cpu, Int4PerTokenCpu);

}  // namespace lrb
