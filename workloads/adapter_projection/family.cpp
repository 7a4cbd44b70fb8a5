// adapter_projection: parameters, output shapes, comparison with the FP64 reference, floor, compression.
#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <thread>

#include <fmt/format.h>

#include "harness/registry.hpp"
#include "workloads/adapter_projection/method_base.hpp"
#include "workloads/adapter_projection/model_fidelity.hpp"
#include "workloads/adapter_projection/problem.hpp"
#include "workloads/common/fidelity.hpp"
#include "workloads/model/llama.hpp"

namespace lrb {

namespace {

// fidelity.model runs the real model: base weights from it and a nonzero token count.
bool evaluates_model(const Params& p) {
  return p.string("base_weights") != "generated" && p.integer("model_eval_tokens") > 0;
}

class AdapterProjectionFamily final : public TaskFamily {
 public:
  std::string id() const override { return "adapter_projection"; }
  std::string description() const override {
    return "many LoRA adapters on one base model: Y = X W^T + s (X A_k^T) B_k^T per token";
  }
  ParamSpecs params() const override {
    return {
        {"model", ParamType::string, "tiny", "model shape (lrbench list models)", {}, {}, Registry::instance().model_ids()},
        {"projections", ParamType::string_list, Json::array({"q", "k", "v", "o"}), "projection kinds per layer", {}, {},
         {"q", "k", "v", "o", "gate", "up", "down", "qkv"}},
        {"layers", ParamType::integer, 1, "layers (0: all of the model's)", 0.0, 1024.0, {}},
        {"base_weights", ParamType::string, "generated",
         "base weights W: generated, or a real model's (smollm2-135m: its GGUF, scripts/setup)", {}, {},
         {"generated", "smollm2-135m"}},
        {"mode", ParamType::string, "base+adapter", "base+adapter, or adapter-only (the LoRA path alone)", {}, {},
         {"base+adapter", "adapter-only"}},
        {"K", ParamType::integer, 16, "adapters resident per projection", 1.0, 100000.0, {}},
        {"rank", ParamType::integer, 16, "LoRA rank r", 1.0, 4096.0, {}},
        {"batch", ParamType::integer, 16, "tokens in the batch", 1.0, 1048576.0, {}},
        {"alpha", ParamType::number, 32.0, "LoRA alpha (scale s = alpha / rank)", 1e-9, {}, {}},
        {"popularity", ParamType::string, "uniform", "adapter of each token", {}, {},
         {"identical", "uniform", "zipf", "distinct"}},
        {"zipf_a", ParamType::number, 1.1, "exponent of the zipf popularity", 0.0, {}, {}},
        {"no_adapter", ParamType::number, 0.0,
         "share of tokens with no adapter (id -1, the serving systems' 'no LoRA' slot): the base alone, 0 in "
         "adapter-only mode",
         0.0, 1.0, {}},
        {"adapter_norm", ParamType::number, 0.25, "||s B A||_F / sqrt(d_out) (the base has ~1)", 0.0, {}, {}},
        {"generator", ParamType::string, "trained_like", "adapter generator (lrbench list workloads)", {}, {},
         {"gaussian", "trained_like", "shared_subspace", "peft"}},
        {"seed", ParamType::integer, 0, "seed of every generated tensor", 0.0, kMaxExactInteger, {}},
        {"d_in", ParamType::integer, 0, "override every projection's d_in (0: the model's)", 0.0, 131072.0, {}},
        {"d_out", ParamType::integer, 0, "override every projection's d_out (0: the model's)", 0.0, 131072.0, {}},
        {"model_eval_tokens", ParamType::integer, 128,
         "with real base_weights: tokens of model_text the real model runs for fidelity.model (0: none)", 0.0, 65536.0,
         {}},
        {"model_eval_adapters", ParamType::integer, 4, "adapters fidelity.model evaluates (evenly spaced over K)", 1.0,
         100000.0, {}},
        {"model_text", ParamType::string, "/usr/share/common-licenses/GPL-3", "UTF-8 text of fidelity.model", {}, {}, {}},
    };
  }

  std::optional<std::pair<std::string, std::string>> invalid_point(const Point& point) const override {
    const Params p = point.params();
    const ModelShape* model = Registry::instance().model(p.string("model"));
    if (!model) return std::make_pair(std::string("model"), "unknown model " + p.string("model"));
    for (const auto& name : p.string_list("projections"))
      if (!model->projection(name))
        return std::make_pair(std::string("projections"), fmt::format("model {} has no projection '{}'", model->id, name));
    if (p.integer("model_eval_tokens") == 1)
      return std::make_pair(std::string("model_eval_tokens"), "fidelity.model needs 2 tokens or more (0: none)");
    if (p.integer("layers") > model->n_layers)
      return std::make_pair(std::string("layers"),
                            fmt::format("model {} has {} layers (got {})", model->id, model->n_layers, p.integer("layers")));
    if (const std::string base = p.string("base_weights"); base != "generated") {
      const ModelShape* real = Registry::instance().model(base);
      if (p.integer("d_in") > 0 || p.integer("d_out") > 0)
        return std::make_pair(std::string(p.integer("d_in") > 0 ? "d_in" : "d_out"),
                              "real base weights have their model's own shape: leave it at 0");
      for (const auto& name : p.string_list("projections")) {
        const ProjectionShape *a = model->projection(name), *b = real ? real->projection(name) : nullptr;
        if (!b || a->d_in != b->d_in || a->d_out != b->d_out || model->n_layers > real->n_layers)
          return std::make_pair(std::string("base_weights"),
                                fmt::format("{}'s {} is not the shape of model {}'s", base, name, model->id));
      }
    }
    return std::nullopt;
  }

  Support check_point(const Point& point) const override {
    const Params p = point.params();
    if (p.string("popularity") == "distinct" && p.integer("K") < p.integer("batch"))
      return Support::no(fmt::format("popularity distinct needs K >= batch (K={}, batch={})", p.integer("K"),
                                     p.integer("batch")));
    if (p.string("generator") == "shared_subspace" && p.integer("subspace_rank") > 0 &&
        p.integer("subspace_rank") < p.integer("rank"))
      return Support::no("shared_subspace needs subspace_rank >= rank");
    return Support::yes();
  }

  MemoryEstimate estimate_memory(const Point& point) const override {
    const Params p = point.params();
    const ModelShape* model = Registry::instance().model(p.string("model"));
    if (!model) return {};
    const double layers = p.integer("layers") > 0 ? static_cast<double>(p.integer("layers")) : model->n_layers;
    const double K = static_cast<double>(p.integer("K")), r = static_cast<double>(p.integer("rank"));
    const double batch = static_cast<double>(p.integer("batch"));
    const bool base = p.string("mode") == "base+adapter";
    double fp16 = 0;  // the problem's tensors
    // fidelity.model's identity probe: model_eval_adapters blocks of (at most) the largest d_in tokens.
    double probe_tokens = 0, probe_io = 0;
    if (evaluates_model(p)) {
      double d_max = 0;
      for (const auto& name : p.string_list("projections"))
        if (const ProjectionShape* s = model->projection(name)) d_max = std::max<double>(d_max, s->d_in);
      probe_tokens = std::min<double>(K, static_cast<double>(p.integer("model_eval_adapters"))) * d_max;
    }
    for (const auto& name : p.string_list("projections")) {
      const ProjectionShape* s = model->projection(name);
      if (!s) continue;
      const double din = p.integer("d_in") > 0 ? static_cast<double>(p.integer("d_in")) : s->d_in;
      const double dout = p.integer("d_out") > 0 ? static_cast<double>(p.integer("d_out")) : s->d_out;
      fp16 += layers * 2.0 * ((base ? din * dout : 0.0) + batch * (din + dout) + K * r * (din + dout));
      probe_io += layers * probe_tokens * (din + dout);
    }
    MemoryEstimate e;
    // Host: the problem, the generation cache's copy of it, and a CPU path's fp32 working copies.
    e.host_bytes = 4 * fp16;
    // Device: one prepared copy and half of a second (graph mode rotates copies where memory allows).
    e.device_bytes = 1.5 * fp16;
    e.arithmetic = fmt::format("{:.3g} GiB of fp16 tensors (base weights, X, Y, K = {} adapters of rank {}); host 4x "
                               "(problem, cache, fp32 copies), device 1.5x",
                               fp16 / (1 << 30), p.integer("K"), p.integer("rank"));
    if (evaluates_model(p)) {  // the real model, the copy fidelity.model modifies, and the identity probe
      const double m = model::model_host_bytes(p.string("base_weights"));
      // The loaded model, one modified copy per core evaluating an adapter, the probe's fp16 X and fp32 outputs.
      const double copies = std::min<double>({K, static_cast<double>(p.integer("model_eval_adapters")),
                                              static_cast<double>(std::max(1u, std::thread::hardware_concurrency()))});
      e.host_bytes += (2 + copies) * m + 2 * probe_io + 4 * probe_io;
      e.device_bytes += 2 * probe_io;
      e.arithmetic += fmt::format("; the model in fp32 {} times ({:.3g} GiB each) and the identity probe of "
                                  "fidelity.model", 2 + copies, m / (1 << 30));
    }
    return e;
  }

  std::shared_ptr<const Problem> make_problem(const Point& point) const override {
    const Params p = point.params();
    AdapterProblemSpec s;
    s.model = p.string("model");
    s.projections = p.string_list("projections");
    s.layers = static_cast<int>(p.integer("layers"));
    s.mode = p.string("mode");
    s.K = static_cast<int>(p.integer("K"));
    s.rank = static_cast<int>(p.integer("rank"));
    s.batch = static_cast<int>(p.integer("batch"));
    s.alpha = p.number("alpha");
    s.popularity = p.string("popularity");
    s.zipf_a = p.number("zipf_a");
    s.no_adapter = p.number("no_adapter");
    s.adapter_norm = p.number("adapter_norm");
    s.generator = p.string("generator");
    s.seed = static_cast<std::uint64_t>(p.integer("seed"));
    s.d_in = static_cast<int>(p.integer("d_in"));
    s.d_out = static_cast<int>(p.integer("d_out"));
    s.base_weights = p.string("base_weights");
    if (const WorkloadInfo* w = Registry::instance().workload(id(), s.generator))
      for (const auto& spec : w->params) s.generator_params[spec.name] = point.values.at(spec.name);
    auto problem = build_adapter_problem(s);
    if (evaluates_model(p)) {
      problem->model_eval_tokens = static_cast<int>(p.integer("model_eval_tokens"));
      problem->model_eval_adapters = static_cast<int>(p.integer("model_eval_adapters"));
      problem->model_text = p.string("model_text");
    }
    return problem;
  }

  Json workload_info(const Problem& problem) const override {
    const auto& p = static_cast<const AdapterProblem&>(problem);
    return {{"generator", p.generator},
            {"seed", p.seed},
            {"source", p.source},
            {"base", p.base_source == "generated"
                         ? Json("generated")
                         : Json(p.base_source + (p.source.find("medai") != std::string::npos
                                                     ? "; the MedAI adapters were trained on SmolLM-135M-Instruct "
                                                       "(v1), of the same shapes, not on this base"
                                                     : ""))},
            {"projections", p.projections.size()},
            {"distinct_adapters", p.layout.adapters_used()},
            {"tokens_without_adapter", std::count(p.layout.token_adapter.begin(), p.layout.token_adapter.end(),
                                                  kNoAdapter)}};
  }

  bool accepts(const Method& method) const override {
    return dynamic_cast<const AdapterProjectionMethod*>(&method) != nullptr;
  }

  std::vector<OutputShape> output_shapes(const Problem& problem) const override {
    const auto& p = static_cast<const AdapterProblem&>(problem);
    std::vector<OutputShape> out;
    for (const auto& proj : p.projections)
      out.push_back({proj.name, static_cast<std::size_t>(p.batch), static_cast<std::size_t>(proj.d_out)});
    return out;
  }

  std::vector<Json> conformance_shapes() const override {
    // d not a multiple of 16, r = 1, K = 1, one token, every popularity law, both modes; tokens with no adapter
    // (-1) among others, and a batch with no adapter at all.
    auto shape = [](int d_in, int d_out, int K, int rank, int batch, const char* popularity, const char* mode,
                    double no_adapter = 0.0) {
      return Json{{"model", "tiny"}, {"projections", {"q", "o"}}, {"layers", 2}, {"d_in", d_in}, {"d_out", d_out},
                  {"K", K}, {"rank", rank}, {"batch", batch}, {"popularity", popularity}, {"mode", mode},
                  {"generator", "trained_like"}, {"seed", 11}, {"no_adapter", no_adapter}};
    };
    return {shape(37, 23, 1, 1, 1, "identical", "base+adapter"), shape(37, 23, 1, 1, 1, "identical", "adapter-only"),
            shape(40, 20, 3, 1, 7, "uniform", "base+adapter"),   shape(17, 33, 5, 4, 5, "distinct", "base+adapter"),
            shape(17, 33, 5, 4, 5, "distinct", "adapter-only"),  shape(64, 48, 9, 8, 33, "zipf", "base+adapter"),
            shape(29, 61, 1, 16, 3, "uniform", "adapter-only"),  shape(200, 72, 9, 4, 7, "distinct", "adapter-only"),
            shape(40, 24, 5, 8, 9, "uniform", "base+adapter", 0.34), shape(40, 24, 5, 8, 9, "zipf", "adapter-only", 0.34),
            shape(24, 40, 3, 4, 4, "uniform", "base+adapter", 1.0), shape(24, 40, 3, 4, 4, "uniform", "adapter-only", 1.0),
            // the fused pass's widest tile (64 tokens, rank 64), d_in not a multiple of its 64-column stages
            shape(520, 300, 7, 64, 64, "uniform", "base+adapter", 0.1),
            // above 64 tokens: base_only's auto schedule leaves batched (CUTLASS's cluster tile where it runs)
            shape(64, 48, 4, 8, 80, "uniform", "base+adapter", 0.1),
            Json{{"model", "smollm-135m"}, {"projections", {"q", "v"}}, {"layers", 2}, {"K", 16}, {"rank", 16},
                 {"batch", 33}, {"popularity", "zipf"}, {"generator", "trained_like"}, {"seed", 5}}};
  }

  std::optional<Json> model_fidelity(const Problem& problem, const MethodInfo&, const MethodProbe& probe) const override {
    const auto& p = static_cast<const AdapterProblem&>(problem);
    if (p.base_model.empty() || p.model_eval_tokens == 0) return std::nullopt;
    return adapter_model_fidelity(p, probe);
  }

  Comparison compare(const Problem& problem, const MethodInfo& info, const Method&, const std::vector<HostOutput>& out,
                     const CheckOptions& options) const override {
    const auto& p = static_cast<const AdapterProblem&>(problem);
    // Which projections get an FP64 reference: all, or an evenly spaced sample under the FLOP budget.
    const auto& p0 = p.projections.front();
    const double flops_per_proj = 2.0 * p.batch * ((p.with_base ? double(p0.d_in) * p0.d_out : 0.0) +
                                                   double(p.rank) * (p0.d_in + p0.d_out));
    const std::size_t n = p.projections.size();
    std::size_t count = n;
    if (flops_per_proj * n > options.max_reference_flops)
      count = std::max<std::size_t>(1, static_cast<std::size_t>(options.max_reference_flops / flops_per_proj));

    const bool to_base = info.traits.target == "base";
    ErrorAccumulator target, adapter_part;
    for (std::size_t i = 0; i < count; ++i) {
      const std::size_t pi = i * n / count;
      const AdapterReference& ref = cached_adapter_reference(p, pi);
      const MatrixF& y = out[pi].values;
      for (int t = 0; t < p.batch; ++t)
        for (int c = 0; c < p.projections[pi].d_out; ++c) {
          const double base = p.with_base ? ref.base(t, c) : 0.0;
          const double want = to_base ? base : base + ref.adapter(t, c);
          target.add(y(t, c), want);
          if (!to_base) adapter_part.add(static_cast<double>(y(t, c)) - base, ref.adapter(t, c));
        }
    }
    Comparison r;
    Json& f = r.fidelity;
    f = target.to_json();
    f["reference"] = "fp64";
    f["target"] = to_base ? "base" : (p.with_base ? "base+adapter" : "adapter");
    if (!to_base && p.with_base) {
      f["adapter_rel_error"] = adapter_part.rel_error();
      f["adapter_max_abs_error"] = adapter_part.max_abs_error();
      f["adapter_cosine"] = adapter_part.cosine();
    }
    f["sampled"] = count < n;
    f["projections_checked"] = count;
    f["projections_total"] = n;
    if (count < n)
      f["sample_note"] = fmt::format("FP64 reference on {} evenly spaced projections of {} (budget {:.3g} FLOP)", count,
                                     n, options.max_reference_flops);
    r.error = target.rel_error();
    return r;
  }

  Floor floor(const Problem& problem, const Method&) const override {
    const auto& p = static_cast<const AdapterProblem&>(problem);
    Floor f;
    const double distinct = static_cast<double>(p.layout.adapters_used());
    for (const auto& proj : p.projections) {
      const double din = proj.d_in, dout = proj.d_out;
      if (p.with_base) {
        f.bytes += fp16_bytes(dout, din);
        f.flops += 2.0 * p.batch * din * dout;
      }
      f.bytes += distinct * fp16_bytes(p.rank, din + dout) + fp16_bytes(p.batch, din + dout);
      f.write_bytes += fp16_bytes(p.batch, dout);
      f.flops += 2.0 * p.batch * p.rank * (din + dout);
    }
    f.note = "fp16: base weights (if any) + the distinct adapters' A, B + X + Y, each once";
    return f;
  }

  Json compression(const Problem& problem, const MethodInfo& info, const Method& method) const override {
    if (!info.traits.compresses) return nullptr;
    const auto& p = static_cast<const AdapterProblem&>(problem);
    double lora = 0;
    for (const auto& proj : p.projections) lora += double(p.K) * fp16_bytes(p.rank, proj.d_in + proj.d_out);
    // Everything the method keeps for the adapters: not the base weights, not per-batch workspaces.
    double stored = 0;
    for (const auto& [name, bytes] : method.footprint().components)
      if (name.rfind("base", 0) != 0 && name != "workspace") stored += static_cast<double>(bytes);
    const double per_adapter = stored / p.K;
    return {{"reference", "fp16 LoRA factors A_k, B_k of all K adapters"},
            {"reference_bytes", lora},
            {"stored_bytes", stored},
            {"ratio", stored > 0 ? lora / stored : 0.0},
            {"bytes_per_adapter", per_adapter},
            {"lora_bytes_per_adapter", lora / p.K},
            // An upper bound: what fits if 80 GB held nothing but this problem's adapters.
            {"adapters_in_80GB", per_adapter > 0 ? std::floor(80e9 / per_adapter) : 0.0},
            {"lora_adapters_in_80GB", std::floor(80e9 / (lora / p.K))}};
  }
};

[[maybe_unused]] const bool registered =
    Registry::instance().add_family(std::make_shared<AdapterProjectionFamily>());

}  // namespace
}  // namespace lrb
