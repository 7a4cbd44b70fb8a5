// kvtc: KV-cache transform coding (NVIDIA, arXiv 2511.01815), CPU path. prepare calibrates (RoPE removed,
// mean, PCA, the bit plan) on the problem's calibration set, untimed, its time and artifact bytes reported
// apart; compress and decompress are the timed phases (methods/kvtc/kvtc_codec.hpp).
#include <fmt/format.h>

#include "harness/registry.hpp"
#include "methods/kvtc/kvtc_method.hpp"
#include "workloads/kv_compression/method_base.hpp"

namespace lrb {
namespace {

class KvtcCpu final : public CpuKvMethod {
 public:
  explicit KvtcCpu(const Params& params) : s_(params) {}

  Support can_run(const Point&, Backend) const override {
    if (!kvtc::on_cpu(s_.codec.entropy))
      return Support::no(fmt::format("kvtc entropy '{}' is nvCOMP's, on the GPU only", kvtc::name_of(s_.codec.entropy)));
    return Support::yes();
  }

  void prepare(const Problem& problem, ExecContext&) override {
    p_ = &static_cast<const KvProblem&>(problem);
    cal_ = kvtc::calibrate_artifact(*p_, s_);
    allocate_outputs(*p_);
  }

  void compress(ExecContext&) override {
    stats_ = kvtc::encode_blob(p_->keys, p_->values, p_->rope, cal_.art, s_.codec, blob_);
  }
  void decompress(ExecContext&) override { kvtc::decode_blob(blob_, p_->rope, cal_.art, keys_out_, values_out_); }

  std::vector<std::pair<int, int>> raw_tokens() const override { return kvtc::raw_ranges(p_->keys.tokens, s_.codec); }
  double transform_flops() const override {
    const auto [first, end] = kvtc::coded_range(p_->keys.tokens, s_.codec);
    return kvtc::transform_flops(cal_, end - first);
  }

  KvSizes measure_sizes(ExecContext&) override {
    KvSizes k;
    k.blob_bytes = blob_.size();
    k.capacity_bytes = blob_.capacity();
    k.raw_token_bytes = stats_.raw_bytes;
    k.calibration_bytes = cal_.artifact_bytes;
    if (s_.codec.entropy != kvtc::Entropy::none)
      k.before_entropy_bytes = stats_.header_bytes + stats_.raw_bytes + stats_.payload_bytes;
    return k;
  }
  Footprint footprint() const override { return {{{"blob", blob_.size()}, {"calibration", cal_.artifact_bytes}}}; }

  Json metrics() const override { return kvtc::metrics_json(cal_, stats_, s_.codec.entropy); }

 private:
  kvtc::Settings s_;
  kvtc::Calibrated cal_;
  kvtc::EncodeStats stats_;
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
                {"entropy", ParamType::string, "none",
                 "entropy stage over the payload: none; deflate, zstd (CPU: libdeflate, libzstd; GPU: nvCOMP); "
                 "gdeflate, ans (GPU only, nvCOMP)",
                 {}, {}, {"none", "deflate", "zstd", "gdeflate", "ans"}},
                {"cuda_kernel", ParamType::string, "fused",
                 "CUDA path only: fused (per_head mode's fused kernels, head_dim 32/64/128, rotary dims a multiple of 16) or unfused (v1: RoPE kernel, "
                 "cuBLASLt GEMM, quantize+pack kernel); docs/perf/kvtc.md",
                 {}, {}, {"fused", "unfused"}},
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
