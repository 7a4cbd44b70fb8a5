// kvtc: KV-cache transform coding (NVIDIA, arXiv 2511.01815), CPU path. prepare calibrates (RoPE removed,
// mean, PCA, the bit plan) on the problem's calibration set, untimed, its time and artifact bytes reported
// apart; compress and decompress are the timed phases (methods/kvtc/kvtc_codec.hpp).
#include <chrono>

#include "harness/registry.hpp"
#include "methods/kvtc/kvtc_codec.hpp"
#include "workloads/kv_compression/method_base.hpp"

namespace lrb {
namespace {

struct KvtcSettings {
  kvtc::CalibrationSettings calibration;
  kvtc::CodecSettings codec;
  explicit KvtcSettings(const Params& p) {
    calibration.mode = kvtc::parse_mode(p.string("mode"));
    calibration.ratio = p.number("ratio");
    calibration.allocation = p.string("allocation");
    codec.sinks = static_cast<int>(p.integer("sinks"));
    codec.window = static_cast<int>(p.integer("window"));
    codec.entropy = kvtc::parse_entropy(p.string("entropy"));
  }
};

class KvtcCpu final : public CpuKvMethod {
 public:
  explicit KvtcCpu(const Params& params) : s_(params) {}

  void prepare(const Problem& problem, ExecContext&) override {
    p_ = &static_cast<const KvProblem&>(problem);
    const auto t0 = std::chrono::steady_clock::now();
    art_.mode = s_.calibration.mode;
    art_.keys = kvtc::calibrate(p_->calib_keys, true, p_->rope, s_.calibration);
    art_.values = kvtc::calibrate(p_->calib_values, false, p_->rope, s_.calibration);
    std::vector<kvtc::Stream> all = art_.keys;
    all.insert(all.end(), art_.values.begin(), art_.values.end());
    art_.hash = kvtc::artifact_hash(all);
    artifact_bytes_ = kvtc::artifact_bytes(all);
    calibration_s_ = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    allocate_outputs(*p_);
  }

  void compress(ExecContext&) override { stats_ = kvtc::encode_blob(p_->keys, p_->values, p_->rope, art_, s_.codec, blob_); }
  void decompress(ExecContext&) override { kvtc::decode_blob(blob_, p_->rope, art_, keys_out_, values_out_); }

  std::vector<std::pair<int, int>> raw_tokens() const override {
    const auto [b, e] = kvtc::coded_range(p_->keys.tokens, s_.codec);
    std::vector<std::pair<int, int>> raw;
    if (b > 0) raw.emplace_back(0, b);
    if (e < p_->keys.tokens) raw.emplace_back(e, p_->keys.tokens);
    return raw;
  }

  KvSizes measure_sizes(ExecContext&) override {
    KvSizes k;
    k.blob_bytes = blob_.size();
    k.capacity_bytes = blob_.capacity();
    k.raw_token_bytes = stats_.raw_bytes;
    k.calibration_bytes = artifact_bytes_;
    if (s_.codec.entropy != kvtc::Entropy::none)
      k.before_entropy_bytes = stats_.header_bytes + stats_.raw_bytes + stats_.payload_bytes;
    return k;
  }
  Footprint footprint() const override { return {{{"blob", blob_.size()}, {"calibration", artifact_bytes_}}}; }

  Json metrics() const override {
    auto streams = [](const std::vector<kvtc::Stream>& v) {
      double bits = 0, p = 0, r = 0, kept = 0, error = 0;
      for (const auto& s : v) {
        bits += s.plan.bits_per_token, p += s.p(), r += s.r(), error += s.plan.error;
        for (const auto& g : s.plan.groups) kept += g.type == kvtc::CodeType::dropped ? 0 : g.size;
      }
      return Json{{"streams", v.size()},
                  {"plan_bits_per_coordinate", p > 0 ? bits / p : 0.0},
                  {"components", r},
                  {"components_kept", kept},
                  {"coordinates", p},
                  {"plan_heldout_error", error}};
    };
    return {{"calibration_s", calibration_s_},
            {"keys", streams(art_.keys)},
            {"values", streams(art_.values)},
            {"payload_bytes", stats_.payload_bytes},
            {"stored_payload_bytes", stats_.stored_payload_bytes},
            {"entropy", kvtc::name_of(s_.codec.entropy)}};
  }

 private:
  KvtcSettings s_;
  kvtc::Artifact art_;
  kvtc::EncodeStats stats_;
  std::uint64_t artifact_bytes_ = 0;
  double calibration_s_ = 0;
};

}  // namespace

LRBENCH_DECLARE_METHOD(
    kv_compression, "kvtc",
    {.description = "KV transform coding (NVIDIA, arXiv 2511.01815): RoPE removed, PCA from calibration, DP bit "
                    "plan over groups of components, fp16 shift/scale + packed codes, optional entropy stage",
     .params = {{"mode", ParamType::string, "paper",
                 "paper: one basis per tensor over all layers and heads (cross-layer PCA); per_head: one per (layer, "
                 "KV head), the seed repository's, not the paper's",
                 {}, {}, {"paper", "per_head"}},
                {"ratio", ParamType::number, 16.0, "target compression ratio CR: plan budget 16 p / CR bits per token",
                 1.0, 1024.0, {}},
                {"allocation", ParamType::string, "dp", "dp (the paper's) or greedy_seed (the seed's, no overhead)", {},
                 {}, {"dp", "greedy_seed"}},
                {"entropy", ParamType::string, "none", "entropy stage over the payload", {}, {},
                 {"none", "deflate", "zstd"}},
                {"sinks", ParamType::integer, 4, "first tokens kept raw (attention sinks)", 0.0, 1048576.0, {}},
                {"window", ParamType::integer, 128, "last tokens kept raw (the recent window)", 0.0, 1048576.0, {}}},
     .traits = {.tolerance = MethodTraits::lossy},
     .supports = [](const Point& point, const Params&) {
       const Params p = point.params();
       const long long calib = p.integer("calibration_tokens") > 0 ? p.integer("calibration_tokens") : p.integer("tokens");
       if (calib < 2) return Support::no("kvtc calibrates on 2 calibration tokens or more");
       return Support::yes();
     }});
LRBENCH_REGISTER_BACKEND("kvtc", cpu, KvtcCpu);
}  // namespace lrb
