// fp8_e4m3, CPU path: the cache cast to fp8 e4m3 (saturating, round to nearest even) with one fp32 scale
// per tensor and layer (amax / 448), as serving stacks' fp8 KV caches with per-layer k/v scales do. A 2x
// baseline: KVTC at CR 2 must beat it to be worth its calibration.
#include <algorithm>
#include <cmath>
#include <cstring>

#include "harness/registry.hpp"
#include "methods/fp8_e4m3/fp8_format.hpp"
#include "methods/kvtc/kvtc_quant.hpp"
#include "workloads/kv_compression/blob.hpp"
#include "workloads/kv_compression/method_base.hpp"

namespace lrb {
namespace {

using fp8_e4m3::kMagic;

class Fp8Cpu final : public CpuKvMethod {
 public:
  explicit Fp8Cpu(const Params&) {}
  void prepare(const Problem& problem, ExecContext&) override {
    p_ = &static_cast<const KvProblem&>(problem);
    allocate_outputs(*p_);
  }
  void compress(ExecContext&) override {
    BlobWriter w(blob_);
    w.put(KvBlobHeader{kMagic, static_cast<std::uint32_t>(p_->keys.layers), static_cast<std::uint32_t>(p_->keys.tokens),
                       static_cast<std::uint32_t>(p_->keys.heads), static_cast<std::uint32_t>(p_->keys.head_dim)});
    std::vector<std::uint8_t> codes;
    for (const KvTensor* t : {&p_->keys, &p_->values}) {
      const std::size_t per_layer = static_cast<std::size_t>(t->tokens) * t->token_width();
      for (int l = 0; l < t->layers; ++l) {
        const Half* x = t->data.data() + l * per_layer;
        float amax = 0;
        for (std::size_t i = 0; i < per_layer; ++i) amax = std::max(amax, std::fabs(static_cast<float>(x[i])));
        const float scale = amax > 0 ? amax / 448.0f : 1.0f;
        w.put(scale);
        codes.resize(per_layer);
        for (std::size_t i = 0; i < per_layer; ++i) codes[i] = kvtc::fp8_e4m3_encode(static_cast<float>(x[i]) / scale);
        w.put_bytes(codes.data(), codes.size());
      }
    }
  }
  void decompress(ExecContext&) override {
    BlobReader r(blob_);
    const auto h = r.get<KvBlobHeader>();
    if (h.magic != kMagic) throw std::runtime_error("fp8_e4m3: not an fp8_e4m3 blob");
    h.expect_shape_of(keys_out_, "fp8_e4m3");
    for (KvTensor* t : {&keys_out_, &values_out_}) {
      const std::size_t per_layer = static_cast<std::size_t>(t->tokens) * t->token_width();
      for (int l = 0; l < t->layers; ++l) {
        const float scale = r.get<float>();
        const std::uint8_t* c = r.take(per_layer);
        Half* x = t->data.data() + l * per_layer;
        for (std::size_t i = 0; i < per_layer; ++i) x[i] = Half(kvtc::fp8_e4m3_decode(c[i]) * scale);
      }
    }
  }
  KvSizes measure_sizes(ExecContext&) override { return {blob_.size(), blob_.capacity(), 0, 0, 0}; }
  Footprint footprint() const override { return {{{"blob", blob_.size()}}}; }
};

}  // namespace

LRBENCH_DECLARE_METHOD(kv_compression, "fp8_e4m3",
                       {.description = "fp8 e4m3 cast with one fp32 scale per tensor and layer (lossy baseline, 2x)",
                        .traits = {.tolerance = MethodTraits::lossy}});
LRBENCH_REGISTER_BACKEND("fp8_e4m3", cpu, Fp8Cpu);
}  // namespace lrb
