// KV cache generators: one layer of pre-RoPE vectors at a time (the family applies RoPE to keys and
// queries and rounds to fp16). Keys, their calibration set and the queries share one statistical model;
// values and their calibration set share another.
#include <cmath>
#include <functional>
#include <stdexcept>

#include <fmt/format.h>

#include "harness/registry.hpp"
#include "workloads/common/orthonormal.hpp"
#include "workloads/common/rng.hpp"
#include "workloads/kv_compression/generators.hpp"
#include "workloads/model/real_cache.hpp"

namespace lrb {
namespace {

std::uint64_t model_stream(KvRole role) {
  return (role == KvRole::values || role == KvRole::calib_values) ? kStreamValues : kStreamKeys;
}
std::uint64_t draw_stream(KvRole role) {
  switch (role) {
    case KvRole::keys: return kStreamKeys;
    case KvRole::values: return kStreamValues;
    case KvRole::calib_keys: return kStreamCalibration;
    case KvRole::calib_values: return kStreamCalibration + 100;
    case KvRole::queries: return kStreamQueries;
  }
  return 0;
}

void gaussian(const KvGenRequest& q, int layer, double* out) {
  Rng rng(stream_seed(q.seed, {draw_stream(q.role), static_cast<std::uint64_t>(layer)}));
  const std::size_t n = static_cast<std::size_t>(q.tokens) * q.heads * q.head_dim;
  for (std::size_t i = 0; i < n; ++i) out[i] = rng.normal();
}

// x_t = z_t U_l + bias_l + noise, then outlier channels scaled; z_t ~ N(0, diag(sigma^2)) with
// sigma_i ~ (i+1)^-decay; U_l mixes a basis shared by all layers (weight layer_correlation) with a
// private one.
void structured(const KvGenRequest& q, int layer, double* out) {
  const int width = q.heads * q.head_dim;
  const int r = std::min<int>(static_cast<int>(q.params.integer("latent_rank")), width);
  const double c = q.params.number("layer_correlation");
  const std::uint64_t ms = model_stream(q.role);
  Rng shared_rng(stream_seed(q.seed, {ms, 0xffff}));
  Rng layer_rng(stream_seed(q.seed, {ms, static_cast<std::uint64_t>(layer), 1}));
  MatrixD shared = random_orthonormal_rows(r, width, shared_rng);
  MatrixD basis = random_orthonormal_rows(r, width, layer_rng);
  const double ws = std::sqrt(c), wp = std::sqrt(1.0 - c);
  for (int i = 0; i < r; ++i)
    for (int k = 0; k < width; ++k) basis(i, k) = ws * shared(i, k) + wp * basis(i, k);
  orthonormalize_rows(basis, layer_rng);

  std::vector<double> sigma(r);
  double sum = 0;
  for (int i = 0; i < r; ++i) sum += (sigma[i] = std::pow(i + 1.0, -q.params.number("decay"))) * sigma[i];
  // Unit average variance per element from the low-rank part.
  for (auto& s : sigma) s *= std::sqrt(static_cast<double>(width) / sum);

  std::vector<double> bias(width), scale(width, 1.0);
  for (auto& b : bias) b = q.params.number("bias") * layer_rng.normal();
  const int n_outliers = std::min<int>(static_cast<int>(q.params.integer("outlier_channels")), width);
  for (int i = 0; i < n_outliers; ++i) scale[layer_rng.below(width)] = q.params.number("outlier_scale");

  Rng rng(stream_seed(q.seed, {draw_stream(q.role), static_cast<std::uint64_t>(layer)}));
  const double noise = q.params.number("noise");
  std::vector<double> z(r);
  for (int t = 0; t < q.tokens; ++t) {
    for (int i = 0; i < r; ++i) z[i] = sigma[i] * rng.normal();
    double* x = out + static_cast<std::size_t>(t) * width;
    for (int k = 0; k < width; ++k) x[k] = bias[k] + noise * rng.normal();
    for (int i = 0; i < r; ++i)
      for (int k = 0; k < width; ++k) x[k] += z[i] * basis(i, k);
    for (int k = 0; k < width; ++k) x[k] *= scale[k];
  }
}

// The real model's cache: keys (before RoPE: the family applies it again, with the model's own RoPE) and
// values of the text's first T tokens, the queries of the tokens after them, and a calibration cache of a
// disjoint span (workloads/model/real_cache.hpp). One query head of each KV group per query, in turn.
void model_cache(const KvGenRequest& q, int layer, double* out) {
  const auto rc = model::real_cache(q.params.string("model_id"), q.params.string("text"), q.cache_tokens, q.queries,
                                    static_cast<int>(q.params.integer("decode_tokens")), q.calib_tokens);
  const model::LlamaConfig& c = rc->weights->config;
  if (q.heads != c.kv_heads || q.head_dim != c.head_dim || layer >= c.layers)
    throw std::invalid_argument(fmt::format("generator model: the cache of {} is {} layers x {} KV heads x {}", rc->model_id,
                                            c.layers, c.kv_heads, c.head_dim));
  const int W = c.kv_dim(), rep = c.heads / c.kv_heads;
  for (int t = 0; t < q.tokens; ++t) {
    double* x = out + static_cast<std::size_t>(t) * W;
    if (q.role == KvRole::queries) {
      for (int g = 0; g < c.kv_heads; ++g) {
        const int head = g * rep + t % rep;
        for (int d = 0; d < c.head_dim; ++d) x[g * c.head_dim + d] = rc->queries_pre_rope[layer](t, head * c.head_dim + d);
      }
      continue;
    }
    const bool calib = q.role == KvRole::calib_keys || q.role == KvRole::calib_values;
    const bool keys = q.role == KvRole::keys || q.role == KvRole::calib_keys;
    const model::KvCache& kv = calib ? rc->calib : rc->cache;
    const MatrixF& m = keys ? kv.k[layer] : kv.v[layer];
    for (int k = 0; k < W; ++k) x[k] = m(t, k);
    if (keys) {  // undo the model's RoPE at position t (in double)
      RopeSpec spec{c.rope_theta, c.rotary_dims, c.rope_style == model::RopeStyle::interleaved ? "interleaved" : "neox"};
      for (int g = 0; g < c.kv_heads; ++g) apply_rope(x + g * c.head_dim, c.head_dim, t, spec, true);
    }
  }
}

[[maybe_unused]] const bool registered = [] {
  auto& r = Registry::instance();
  r.add_workload({"kv_compression", "model",
                  "the real model's KV cache: a prefill of real text (keys with RoPE, values), queries of the next "
                  "tokens, calibration from the span after them; gives fidelity.model",
                  {{"model_id", ParamType::string, "smollm2-135m", "the model run (lrbench list models)", {}, {}, {}},
                   {"text", ParamType::string, "/usr/share/common-licenses/GPL-3", "UTF-8 text file", {}, {}, {}},
                   {"decode_tokens", ParamType::integer, 32, "tokens decoded over the restored cache for fidelity.model",
                    1.0, 4096.0, {}}},
                  KvGenerator(model_cache)});
  r.add_workload({"kv_compression", "gaussian", "i.i.d. N(0,1) keys (before RoPE) and values: the worst case", {},
                  KvGenerator(gaussian)});
  r.add_workload(
      {"kv_compression", "structured",
       "per-layer low rank with a decaying spectrum, channel bias, outlier channels, cross-layer correlation; RoPE "
       "on keys",
       {{"latent_rank", ParamType::integer, 16, "rank of each layer's token subspace", 1.0, 4096.0, {}},
        {"decay", ParamType::number, 1.0, "latent spectrum falls as (i+1)^-decay", 0.0, 8.0, {}},
        {"noise", ParamType::number, 0.05, "i.i.d. noise added to every element", 0.0, {}, {}},
        {"bias", ParamType::number, 0.5, "std of each channel's constant offset", 0.0, {}, {}},
        {"outlier_channels", ParamType::integer, 2, "channels per layer scaled by outlier_scale", 0.0, 4096.0, {}},
        {"outlier_scale", ParamType::number, 8.0, "scale of outlier channels", 0.0, {}, {}},
        {"layer_correlation", ParamType::number, 0.5, "weight of the basis shared across layers", 0.0, 1.0, {}}},
       KvGenerator(structured)});
  return true;
}();

}  // namespace
}  // namespace lrb
