// int8_per_token: symmetric int8 with one fp16 scale per (layer, token) vector of all KV heads, keys
// (with RoPE) and values alike. A simple lossy baseline: 2x minus the scales.
#include <algorithm>
#include <cmath>

#include "harness/registry.hpp"
#include "methods/int8_per_token/int8_format.hpp"
#include "workloads/kv_compression/blob.hpp"
#include "workloads/kv_compression/method_base.hpp"

namespace lrb {
namespace {

using int8_per_token::kMagic;

class Int8PerToken final : public CpuKvMethod {
 public:
  explicit Int8PerToken(const Params&) {}

  void prepare(const Problem& problem, ExecContext&) override {
    p_ = &static_cast<const KvProblem&>(problem);
    allocate_outputs(*p_);
    const std::size_t vectors = static_cast<std::size_t>(p_->keys.layers) * p_->keys.tokens;
    blob_.reserve(sizeof(KvBlobHeader) + 2 * (vectors * sizeof(Half) + p_->keys.size()));
  }

  void compress(ExecContext&) override {
    BlobWriter w(blob_);
    w.put(KvBlobHeader{kMagic, static_cast<std::uint32_t>(p_->keys.layers), static_cast<std::uint32_t>(p_->keys.tokens),
                       static_cast<std::uint32_t>(p_->keys.heads), static_cast<std::uint32_t>(p_->keys.head_dim)});
    encode(p_->keys, w);
    encode(p_->values, w);
  }

  void decompress(ExecContext&) override {
    BlobReader r(blob_);
    const auto h = r.get<KvBlobHeader>();
    if (h.magic != kMagic) throw std::runtime_error("int8_per_token: not an int8_per_token blob");
    decode(r, keys_out_);
    decode(r, values_out_);
  }

  KvSizes measure_sizes(ExecContext&) override { return {blob_.size(), blob_.capacity(), 0, 0, 0}; }
  Footprint footprint() const override { return {{{"blob", blob_.size()}}}; }

 private:
  // Layout per tensor: all scales (fp16, one per layer x token), then all codes (int8).
  static void encode(const KvTensor& t, BlobWriter& w) {
    const std::size_t width = t.token_width(), vectors = static_cast<std::size_t>(t.layers) * t.tokens;
    std::vector<float> inv(vectors);
    for (std::size_t v = 0; v < vectors; ++v) {
      float amax = 0;
      for (std::size_t i = 0; i < width; ++i) amax = std::max(amax, std::abs(static_cast<float>(t.data[v * width + i])));
      const Half scale = Half(amax > 0 ? amax / 127.0f : 1.0f);
      w.put(scale);
      inv[v] = 1.0f / static_cast<float>(scale);
    }
    std::vector<std::int8_t> codes(width);
    for (std::size_t v = 0; v < vectors; ++v) {
      for (std::size_t i = 0; i < width; ++i) {
        const float q = std::nearbyint(static_cast<float>(t.data[v * width + i]) * inv[v]);
        codes[i] = static_cast<std::int8_t>(std::clamp(q, -127.0f, 127.0f));
      }
      w.put_bytes(codes.data(), width);
    }
  }
  static void decode(BlobReader& r, KvTensor& t) {
    const std::size_t width = t.token_width(), vectors = static_cast<std::size_t>(t.layers) * t.tokens;
    const auto* scales = reinterpret_cast<const Half*>(r.take(vectors * sizeof(Half)));
    const auto* codes = reinterpret_cast<const std::int8_t*>(r.take(vectors * width));
    for (std::size_t v = 0; v < vectors; ++v) {
      const float s = static_cast<float>(scales[v]);
      for (std::size_t i = 0; i < width; ++i) t.data[v * width + i] = Half(codes[v * width + i] * s);
    }
  }
};

}  // namespace

LRBENCH_DECLARE_METHOD(kv_compression, "int8_per_token",
                       {.description = "symmetric int8, one fp16 scale per layer and token (lossy baseline)"});
LRBENCH_REGISTER_BACKEND("int8_per_token", cpu, Int8PerToken);
}  // namespace lrb
