// kv_compression: parameters, problem construction, correctness check (reconstruction and attention
// fidelity in FP64, raw tokens bit-exact), ratios and floor.
#include <bit>
#include <cmath>
#include <limits>
#include <cstring>
#include <stdexcept>

#include <fmt/format.h>

#include "harness/registry.hpp"
#include "workloads/common/fidelity.hpp"
#include "workloads/common/parallel.hpp"
#include "workloads/kv_compression/generators.hpp"
#include "workloads/kv_compression/method_base.hpp"
#include "workloads/kv_compression/problem.hpp"
#include "workloads/model/real_cache.hpp"

namespace lrb {
namespace {

struct KvShape {
  const ModelShape* model;
  int layers, tokens, heads, head_dim, calib_tokens, queries;
  RopeSpec rope;
};

KvShape shape_of(const Params& p) {
  KvShape s{};
  s.model = Registry::instance().model(p.string("model"));
  if (!s.model) throw std::invalid_argument("unknown model " + p.string("model"));
  s.layers = p.integer("layers") > 0 ? static_cast<int>(p.integer("layers")) : s.model->n_layers;
  s.tokens = static_cast<int>(p.integer("tokens"));
  s.heads = p.integer("heads") > 0 ? static_cast<int>(p.integer("heads")) : s.model->n_kv_heads;
  s.head_dim = p.integer("head_dim") > 0 ? static_cast<int>(p.integer("head_dim")) : s.model->head_dim;
  s.calib_tokens = p.integer("calibration_tokens") > 0 ? static_cast<int>(p.integer("calibration_tokens")) : s.tokens;
  s.queries = static_cast<int>(p.integer("queries"));
  s.rope.theta = p.number("rope_theta") > 0 ? p.number("rope_theta") : s.model->rope_theta;
  s.rope.rotary_dims = p.integer("rotary_dims") > 0 ? static_cast<int>(p.integer("rotary_dims")) : s.head_dim;
  s.rope.style = p.string("rope_style") == "model" ? s.model->rope_style : p.string("rope_style");
  return s;
}

// One tensor of the problem: generated layer by layer, RoPE applied (keys, queries) at
// positions first_position + t, rounded to fp16.
KvTensor make_tensor(const KvGenerator& gen, KvGenRequest req, int layers, bool rope, int first_position,
                     const RopeSpec& spec) {
  KvTensor t(layers, req.tokens, req.heads, req.head_dim);
  std::vector<double> buf(static_cast<std::size_t>(req.tokens) * req.heads * req.head_dim);
  for (int l = 0; l < layers; ++l) {
    gen(req, l, buf.data());
    for (int tok = 0; tok < req.tokens; ++tok)
      for (int h = 0; h < req.heads; ++h) {
        double* v = buf.data() + (static_cast<std::size_t>(tok) * req.heads + h) * req.head_dim;
        if (rope) apply_rope(v, req.head_dim, first_position + tok, spec);
        for (int d = 0; d < req.head_dim; ++d) t.data[t.index(l, tok, h, d)] = to_half(v[d]);
      }
  }
  return t;
}

double to_d(Half h) { return static_cast<double>(static_cast<float>(h)); }

// A restored cache (fp32 values of fp16 elements) back in the cache's own layout.
KvTensor as_tensor(const KvTensor& like, const float* values) {
  KvTensor t(like.layers, like.tokens, like.heads, like.head_dim);
  for (std::size_t i = 0; i < t.size(); ++i) t.data[i] = Half(values[i]);
  return t;
}

class KvCompressionFamily final : public TaskFamily {
 public:
  std::string id() const override { return "kv_compression"; }
  std::string description() const override {
    return "compress a KV cache (keys with RoPE) into a blob and restore it for attention";
  }
  ParamSpecs params() const override {
    return {
        {"model", ParamType::string, "tiny", "model shape (lrbench list models)", {}, {}, Registry::instance().model_ids()},
        {"layers", ParamType::integer, 0, "layers (0: all of the model's)", 0.0, 1024.0, {}},
        {"tokens", ParamType::integer, 64, "cached tokens T", 1.0, 1048576.0, {}},
        {"heads", ParamType::integer, 0, "KV heads (0: the model's)", 0.0, 1024.0, {}},
        {"head_dim", ParamType::integer, 0, "head dimension (0: the model's)", 0.0, 4096.0, {}},
        {"rope_theta", ParamType::number, 0.0, "RoPE base (0: the model's)", 0.0, {}, {}},
        {"rotary_dims", ParamType::integer, 0, "rotated dims per head (0: all)", 0.0, 4096.0, {}},
        {"rope_style", ParamType::string, "model", "RoPE pairing", {}, {}, {"model", "neox", "interleaved"}},
        {"calibration_tokens", ParamType::integer, 0, "tokens of the calibration set (0: = tokens)", 0.0, 1048576.0, {}},
        {"queries", ParamType::integer, 8, "sampled queries per layer and head for attention fidelity", 0.0, 65536.0, {}},
        {"generator", ParamType::string, "structured", "cache generator (lrbench list workloads)", {}, {},
         {"gaussian", "structured", "model"}},
        {"seed", ParamType::integer, 0, "seed of every generated tensor", 0.0, kMaxExactInteger, {}},
    };
  }

  std::optional<std::pair<std::string, std::string>> invalid_point(const Point& point) const override {
    const Params p = point.params();
    const ModelShape* model = Registry::instance().model(p.string("model"));
    if (!model) return std::make_pair(std::string("model"), "unknown model " + p.string("model"));
    if (p.integer("layers") > model->n_layers)
      return std::make_pair(std::string("layers"), fmt::format("model {} has {} layers", model->id, model->n_layers));
    if (p.string("generator") == "model") {
      for (const char* own : {"layers", "heads", "head_dim", "rotary_dims"})
        if (p.integer(own) > 0)
          return std::make_pair(std::string(own), "the model generator's cache has the model's own shape: leave " +
                                                      std::string(own) + " at 0");
      if (p.number("rope_theta") > 0 || p.string("rope_style") != "model")
        return std::make_pair(std::string(p.number("rope_theta") > 0 ? "rope_theta" : "rope_style"),
                              "the model generator's keys carry the model's own RoPE: leave it at the model's");
      if (p.string("model") != p.string("model_id"))
        return std::make_pair(std::string("model"),
                              fmt::format("the model generator runs {}: set model to it too (its shape and RoPE)",
                                          p.string("model_id")));
    }
    const KvShape s = shape_of(p);
    if (s.rope.rotary_dims > s.head_dim || s.rope.rotary_dims % 2 != 0)
      return std::make_pair(std::string(p.integer("rotary_dims") > 0 ? "rotary_dims" : "head_dim"),
                            fmt::format("RoPE needs an even number of rotary dims <= head_dim (rotary {}, head_dim {})",
                                        s.rope.rotary_dims, s.head_dim));
    return std::nullopt;
  }

  MemoryEstimate estimate_memory(const Point& point) const override {
    const KvShape s = shape_of(point.params());
    const double per_token = static_cast<double>(s.layers) * s.heads * s.head_dim;  // elements per token
    const double cache = 2.0 * 2.0 * per_token * s.tokens;                          // fp16 keys + values
    const double problem = cache + 2.0 * 2.0 * per_token * s.calib_tokens + 2.0 * per_token * s.queries;
    MemoryEstimate e;
    // Host: the problem, the restored cache, the blob (<= the cache), the fp32 copies the check compares
    // and the fp16 copies attention fidelity reads.
    e.host_bytes = problem + cache * (1 + 1 + 2 + 1);
    // Device: cache in and out and a blob, for two prepared copies.
    e.device_bytes = 2 * 3 * cache;
    e.arithmetic = fmt::format("a {:.3g} GiB fp16 cache ({} layers x {} tokens x {} heads x {}); host ~6x, device 6x",
                               cache / (1 << 30), s.layers, s.tokens, s.heads, s.head_dim);
    if (point.params().string("generator") == "model") {  // the real model, loaded once (fp32)
      const double m = model::model_host_bytes(point.params().string("model_id"));
      e.host_bytes += m;
      e.arithmetic += fmt::format("; the model in fp32 on the host ({:.3g} GiB)", m / (1 << 30));
    }
    return e;
  }

  std::shared_ptr<const Problem> make_problem(const Point& point) const override {
    const Params p = point.params();
    const KvShape s = shape_of(p);
    const WorkloadInfo* w = Registry::instance().workload(id(), p.string("generator"));
    if (!w) throw std::invalid_argument("unknown kv generator " + p.string("generator"));
    const auto gen = std::any_cast<KvGenerator>(w->generate);
    Json gp = Json::object();
    for (const auto& spec : w->params) gp[spec.name] = point.values.at(spec.name);

    auto prob = std::make_shared<KvProblem>();
    prob->model = s.model->id;
    prob->generator = p.string("generator");
    prob->seed = static_cast<std::uint64_t>(p.integer("seed"));
    prob->rope = s.rope;
    KvGenRequest req;
    req.heads = s.heads;
    req.head_dim = s.head_dim;
    req.seed = prob->seed;
    req.params = Params(gp);
    req.cache_tokens = s.tokens;
    req.queries = s.queries;
    req.calib_tokens = s.calib_tokens;
    if (prob->generator == "model")
      prob->real = model::real_cache(req.params.string("model_id"), req.params.string("text"), s.tokens, s.queries,
                                     static_cast<int>(req.params.integer("decode_tokens")), s.calib_tokens);
    auto make = [&](KvRole role, int tokens, bool rope, int first) {
      req.role = role;
      req.tokens = tokens;
      return make_tensor(gen, req, s.layers, rope, first, s.rope);
    };
    prob->keys = make(KvRole::keys, s.tokens, true, 0);
    prob->values = make(KvRole::values, s.tokens, false, 0);
    prob->calib_keys = make(KvRole::calib_keys, s.calib_tokens, true, 0);
    prob->calib_values = make(KvRole::calib_values, s.calib_tokens, false, 0);
    if (s.queries > 0) prob->queries = make(KvRole::queries, s.queries, true, s.tokens);
    return prob;
  }

  Json workload_info(const Problem& problem) const override {
    const auto& p = static_cast<const KvProblem&>(problem);
    return {{"generator", p.generator},
            {"seed", p.seed},
            {"source", p.real ? "the real model's cache: a prefill of real text (workloads/model/real_cache.hpp)"
                              : "synthetic"},
            {"shape", {p.keys.layers, p.keys.tokens, p.keys.heads, p.keys.head_dim}},
            {"rope", {{"theta", p.rope.theta}, {"rotary_dims", p.rope.rotary_dims}, {"style", p.rope.style}}}};
  }

  bool accepts(const Method& method) const override {
    return dynamic_cast<const KvCompressionMethod*>(&method) != nullptr;
  }

  std::vector<OutputShape> output_shapes(const Problem& problem) const override {
    const auto& p = static_cast<const KvProblem&>(problem);
    const std::size_t rows = static_cast<std::size_t>(p.keys.layers) * p.keys.tokens * p.keys.heads;
    return {{"keys", rows, static_cast<std::size_t>(p.keys.head_dim)},
            {"values", rows, static_cast<std::size_t>(p.values.head_dim)}};
  }
  double default_tolerance() const override { return std::numeric_limits<double>::infinity(); }

  std::vector<Json> conformance_shapes() const override {
    // Odd token counts, one token, a head_dim that is not a power of two, partial rotary dims.
    return {Json{{"model", "tiny"}, {"tokens", 37}},
            Json{{"model", "tiny"}, {"tokens", 1}, {"queries", 2}},
            Json{{"model", "tiny"}, {"tokens", 19}, {"layers", 1}, {"heads", 3}, {"head_dim", 6}, {"rotary_dims", 4},
                 {"rope_style", "interleaved"}, {"generator", "gaussian"}}};
  }

  Comparison compare(const Problem& problem, const MethodInfo&, const Method& impl, const std::vector<HostOutput>& out,
                     const CheckOptions& options) const override {
    const auto& p = static_cast<const KvProblem&>(problem);
    const auto& m = dynamic_cast<const KvCompressionMethod&>(impl);
    const float* kr = out[0].values.data();
    const float* vr = out[1].values.data();
    const int L = p.keys.layers, T = p.keys.tokens, H = p.keys.heads, D = p.keys.head_dim;
    // Per layer in parallel (a 4096-token Llama-2-7B cache is 1G elements), merged in layer order: the same
    // sums whatever the thread count.
    std::vector<ErrorAccumulator> kls(L), vls(L);
    parallel_for(static_cast<std::size_t>(L), [&](std::size_t l) {
      const std::size_t begin = p.keys.index(static_cast<int>(l), 0, 0, 0), end = begin + static_cast<std::size_t>(T) * H * D;
      for (std::size_t i = begin; i < end; ++i) {
        kls[l].add(kr[i], to_d(p.keys.data[i]));
        vls[l].add(vr[i], to_d(p.values.data[i]));
      }
    });
    Json k_layers = Json::array(), v_layers = Json::array();
    ErrorAccumulator k_all, v_all;
    for (int l = 0; l < L; ++l) {
      k_layers.push_back(kls[l].rel_error());
      v_layers.push_back(vls[l].rel_error());
      k_all.merge(kls[l]);
      v_all.merge(vls[l]);
    }
    ErrorAccumulator both = k_all;
    both.merge(v_all);
    Comparison r;
    Json& f = r.fidelity;
    f = both.to_json();
    f["reference"] = "the original cache";
    f["k_rel_error"] = k_all.rel_error();
    f["v_rel_error"] = v_all.rel_error();
    f["k_cosine"] = k_all.cosine();
    f["v_cosine"] = v_all.cosine();
    f["k_rel_error_per_layer"] = k_layers;
    f["v_rel_error_per_layer"] = v_layers;

    // Raw-kept tokens must come back bit-exact (fp16 -> fp32 is exact, so the fp32 bits decide).
    bool raw_exact = true;
    std::int64_t raw_count = 0;
    auto same = [](float a, Half b) { return std::bit_cast<std::uint32_t>(a) == std::bit_cast<std::uint32_t>(float(b)); };
    for (auto [b, e] : m.raw_tokens()) {
      for (int l = 0; l < L; ++l)
        for (int t = std::max(b, 0); t < std::min(e, T); ++t) {
          const std::size_t i = p.keys.index(l, t, 0, 0), n = static_cast<std::size_t>(H) * D;
          for (std::size_t j = i; j < i + n && raw_exact; ++j)
            raw_exact = same(kr[j], p.keys.data[j]) && same(vr[j], p.values.data[j]);
          raw_count += l == 0;
        }
    }
    f["raw_tokens"] = raw_count;
    f["raw_tokens_bit_exact"] = raw_exact;

    const bool finite = out[0].values.allFinite() && out[1].values.allFinite();
    if (p.queries.tokens > 0 && finite)
      f["attention"] = attention_fidelity(p, as_tensor(p.keys, kr), as_tensor(p.values, vr), options);
    if (p.real && finite) {
      std::vector<float> k0(p.keys.size()), v0(p.values.size());
      for (std::size_t i = 0; i < k0.size(); ++i) k0[i] = float(p.keys.data[i]), v0[i] = float(p.values.data[i]);
      f["model"] = model::model_fidelity(*p.real, k0.data(), v0.data(), kr, vr);
    }
    if (!raw_exact) r.failure = "tokens kept raw did not come back bit-exact";
    r.error = both.rel_error();
    return r;
  }

  Floor floor(const Problem& problem, const Method& method) const override {
    const auto& p = static_cast<const KvProblem&>(problem);
    const auto& m = dynamic_cast<const KvCompressionMethod&>(method);
    Floor f;  // after the run: the blob's real size
    // Compress reads the cache and writes the blob; decompress reads the blob and writes the cache.
    f.bytes = 2.0 * static_cast<double>(p.original_bytes()) + 2.0 * static_cast<double>(m.sizes().blob_bytes);
    f.note = "compress + decompress: fp16 cache read and written once, blob written and read once";
    const double one_way = static_cast<double>(p.original_bytes()) + static_cast<double>(m.sizes().blob_bytes);
    const double flops = m.transform_flops();
    f.flops = 2 * flops;
    if (flops > 0) f.note += "; the projections' FLOPs (2 x tokens x p x components kept, per stream and direction)";
    f.phases["compress"] = {one_way, flops};    // cache read, blob written
    f.phases["decompress"] = {one_way, flops};  // blob read, cache written
    if (m.sizes().before_entropy_bytes > 0) {    // an entropy stage timed apart: its payload in, its output out
      const double stage = static_cast<double>(m.sizes().before_entropy_bytes) + static_cast<double>(m.sizes().blob_bytes);
      f.phases["entropy_compress"] = {stage, 0};
      f.phases["entropy_decompress"] = {stage, 0};
    }
    return f;
  }

  Json compression(const Problem& problem, const MethodInfo&, const Method& method) const override {
    const auto& p = static_cast<const KvProblem&>(problem);
    const auto& m = dynamic_cast<const KvCompressionMethod&>(method);
    const KvSizes& s = m.sizes();
    const double original = static_cast<double>(p.original_bytes());
    std::int64_t raw = 0;
    for (auto [b, e] : m.raw_tokens()) raw += std::max(0, std::min(e, p.keys.tokens) - std::max(b, 0));
    const std::int64_t coded = p.keys.tokens - raw;
    const double per_token = original / p.keys.tokens;
    const double coded_blob = static_cast<double>(s.blob_bytes) - static_cast<double>(s.raw_token_bytes);
    Json c = {{"original_bytes", original},
              {"blob_bytes", s.blob_bytes},
              {"ratio", s.blob_bytes ? original / static_cast<double>(s.blob_bytes) : 0.0},
              {"coded_tokens", coded},
              {"raw_tokens", raw},
              {"ratio_coded", coded > 0 && coded_blob > 0 ? Json(per_token * coded / coded_blob) : Json(nullptr)},
              {"calibration_bytes", s.calibration_bytes},
              {"entropy_coded", s.before_entropy_bytes > 0}};
    if (s.before_entropy_bytes > 0) {
      c["ratio_before_entropy"] = original / static_cast<double>(s.before_entropy_bytes);
      c["before_entropy_bytes"] = s.before_entropy_bytes;
    }
    // Every stored bit that is not a raw token (headers, scales, codes, framing) per coded coordinate (K and V).
    const double coordinates = 2.0 * static_cast<double>(coded) * p.keys.layers * p.keys.token_width();
    c["bits_per_coded_coordinate"] = coordinates > 0 ? Json(8 * coded_blob / coordinates) : Json(nullptr);
    return c;
  }

 private:
  // softmax(q k^T / sqrt(D)) V per layer, KV head and sampled query, in FP64, on the original and the
  // restored cache: attention-output relative error and KL(p || p').
  static Json attention_fidelity(const KvProblem& p, const KvTensor& kr, const KvTensor& vr, const CheckOptions& options) {
    const int L = p.keys.layers, T = p.keys.tokens, H = p.keys.heads, D = p.keys.head_dim, Q = p.queries.tokens;
    const double flops_per_layer = 4.0 * H * Q * T * D * 2;
    int layer_step = 1;
    while (flops_per_layer * L / layer_step > options.max_reference_flops && layer_step < L) ++layer_step;
    // Layers in parallel, each with its own sums, merged in layer order (deterministic).
    std::vector<int> layers;
    for (int l = 0; l < L; l += layer_step) layers.push_back(l);
    std::vector<ErrorAccumulator> errs(layers.size());
    std::vector<double> kls(layers.size(), 0.0);
    const double inv = 1.0 / std::sqrt(static_cast<double>(D));
    parallel_for(layers.size(), [&](std::size_t li) {
      const int l = layers[li];
      std::vector<double> s(T), s2(T), o(D), o2(D);
      for (int h = 0; h < H; ++h)
        for (int q = 0; q < Q; ++q) {
          const Half* qv = &p.queries.data[p.queries.index(l, q, h, 0)];
          double m1 = -1e300, m2 = -1e300;
          for (int t = 0; t < T; ++t) {
            const Half* k1 = &p.keys.data[p.keys.index(l, t, h, 0)];
            const Half* k2 = &kr.data[kr.index(l, t, h, 0)];
            double a = 0, b = 0;
            for (int d = 0; d < D; ++d) {
              a += to_d(qv[d]) * to_d(k1[d]);
              b += to_d(qv[d]) * to_d(k2[d]);
            }
            s[t] = a * inv;
            s2[t] = b * inv;
            m1 = std::max(m1, s[t]);
            m2 = std::max(m2, s2[t]);
          }
          double z1 = 0, z2 = 0;
          for (int t = 0; t < T; ++t) {
            z1 += (s[t] = std::exp(s[t] - m1));
            z2 += (s2[t] = std::exp(s2[t] - m2));
          }
          std::fill(o.begin(), o.end(), 0.0);
          std::fill(o2.begin(), o2.end(), 0.0);
          double kl = 0;
          for (int t = 0; t < T; ++t) {
            const double pa = s[t] / z1, pb = s2[t] / z2;
            if (pa > 0) kl += pa * (std::log(pa) - std::log(std::max(pb, 1e-300)));
            const Half* v1 = &p.values.data[p.values.index(l, t, h, 0)];
            const Half* v2 = &vr.data[vr.index(l, t, h, 0)];
            for (int d = 0; d < D; ++d) {
              o[d] += pa * to_d(v1[d]);
              o2[d] += pb * to_d(v2[d]);
            }
          }
          for (int d = 0; d < D; ++d) errs[li].add(o2[d], o[d]);
          kls[li] += kl;
        }
    });
    ErrorAccumulator out_err;
    double kl_sum = 0;
    for (std::size_t li = 0; li < layers.size(); ++li) out_err.merge(errs[li]), kl_sum += kls[li];
    const std::int64_t kl_n = static_cast<std::int64_t>(layers.size()) * H * Q;
    Json a = {{"output_rel_error", out_err.rel_error()},
              {"output_cosine", out_err.cosine()},
              {"kl_mean", kl_n ? kl_sum / kl_n : 0.0},
              {"queries", kl_n}};
    if (layer_step > 1) a["sample_note"] = fmt::format("every {}th layer (FP64 budget)", layer_step);
    return a;
  }
};

[[maybe_unused]] const bool registered = Registry::instance().add_family(std::make_shared<KvCompressionFamily>());

}  // namespace
}  // namespace lrb
