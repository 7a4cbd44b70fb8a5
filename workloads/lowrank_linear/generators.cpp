// Weight generators for lowrank_linear. `spectral`: W = Q_out diag(s) Q_in^T with exact singular values
// s_i = c (i+1)^-decay and random orthogonal Q (two layers of random orthogonal blocks around a random
// permutation, so building a 4096 x 11008 weight costs O(d^2 * 64), not O(d^3)). The truncated factors are
// exact: U_r = first r columns of Q_out, V_r = first r columns of Q_in.
#include <cmath>
#include <functional>

#include <fmt/format.h>

#include "harness/registry.hpp"
#include "workloads/common/orthonormal.hpp"
#include "workloads/common/rng.hpp"
#include "workloads/lowrank_linear/generators.hpp"
#include "workloads/model/real_linear.hpp"

namespace lrb {

ParamSpecs spectral_generator_params() {
  return {{"decay", ParamType::number, 0.5, "singular values fall as (i+1)^-decay", 0.0, 8.0, {}}};
}

ParamSpecs model_generator_params() {
  return {{"model_id", ParamType::string, "smollm2-135m", "the model run (lrbench list models)", {}, {}, {}},
          {"text", ParamType::string, "/usr/share/common-licenses/GPL-3", "UTF-8 text file", {}, {}, {}},
          {"layer", ParamType::integer, 0, "which layer's linear", 0.0, 1024.0, {}},
          {"svd", ParamType::string, "plain", "plain: SVD of W; whitened: of W S, S S^T = X_c^T X_c", {}, {},
           {"plain", "whitened"}},
          {"calibration_tokens", ParamType::integer, 1024,
           "tokens of calibration activations (whitened; fewer than d_in leave X_c^T X_c rank-deficient)", 1.0, 65536.0, {}},
          {"eval_tokens", ParamType::integer, 256, "tokens the model is evaluated on for fidelity.model", 2.0, 65536.0,
           {}}};
}

std::pair<LowrankGenerator, Params> lowrank_generator(const std::string& family, const std::string& id,
                                                      const Point& point) {
  const WorkloadInfo* w = Registry::instance().workload(family, id);
  Json values = Json::object();
  for (const auto& spec : w->params) values[spec.name] = point.values.at(spec.name);
  return {std::any_cast<LowrankGenerator>(w->generate), Params(values)};
}

std::uint64_t projection_key(const std::string& projection) {
  return static_cast<std::uint64_t>(std::hash<std::string>{}(projection) & 0xffff);
}

void add_model_generator_memory(const Params& p, MemoryEstimate& e) {
  if (p.string("generator") != "model") return;
  const double m = model::model_host_bytes(p.string("model_id"));
  e.host_bytes += 2 * m;
  e.arithmetic += fmt::format("; the model in fp32 on the host twice ({:.3g} GiB each)", m / (1 << 30));
}

Comparison lowrank_comparison(const ErrorAccumulator& vs_full, const ErrorAccumulator& vs_truncated, bool to_full,
                              const std::string& full_target, const std::string& truncated_target) {
  Comparison r;
  Json& f = r.fidelity;
  f = (to_full ? vs_full : vs_truncated).to_json();
  f["reference"] = "fp64";
  f["target"] = to_full ? full_target : truncated_target;
  f["rel_error_vs_full"] = vs_full.rel_error();            // truncation + kernel
  f["rel_error_vs_truncated"] = vs_truncated.rel_error();  // kernel alone (for factor methods)
  r.error = (to_full ? vs_full : vs_truncated).rel_error();
  return r;
}

std::optional<std::pair<std::string, std::string>> invalid_model_point(const Params& p,
                                                                       const std::vector<std::string>& own_shape) {
  if (p.string("model") != p.string("model_id"))
    return std::make_pair(std::string("model"),
                          fmt::format("the model generator runs {}: set model to it too", p.string("model_id")));
  for (const auto& name : own_shape)
    if (p.integer(name) > 0)
      return std::make_pair(name, "the model generator's weights have the model's own shape: leave it at 0");
  const ModelShape* m = Registry::instance().model(p.string("model"));
  if (p.integer("layer") >= m->n_layers)
    return std::make_pair(std::string("layer"), fmt::format("{} has {} layers", m->id, m->n_layers));
  return std::nullopt;
}

namespace {

SpectralWeights spectral(const LowrankGenRequest& q) {
  const int m = std::min(q.d_in, q.d_out);
  SpectralWeights w;
  w.spectrum.resize(m);
  double sum = 0;
  for (int i = 0; i < m; ++i) sum += (w.spectrum[i] = std::pow(i + 1.0, -q.params.number("decay"))) * w.spectrum[i];
  // ||W||_F^2 = d_out: entries of variance 1/d_in, like a trained projection at initialization scale.
  for (auto& s : w.spectrum) s *= std::sqrt(static_cast<double>(q.d_out) / sum);

  Rng rng(stream_seed(q.seed, {kStreamSpectral, q.key}));
  const BlockOrthogonal q_out(q.d_out, rng), q_in(q.d_in, rng);
  // G = diag(s) Q_in^T (m x d_in): row i is s_i times column i of Q_in.
  MatrixD g(m, q.d_in);
  for (int i = 0; i < m; ++i) {
    const auto col = q_in.column(i);
    for (int c = 0; c < q.d_in; ++c) g(i, c) = w.spectrum[i] * col[c];
  }
  // W = Q_out[:, :m] G, applied column by column of G (padding to d_out with zeros).
  w.W.resize(q.d_out, q.d_in);
  std::vector<double> x(q.d_out), y(q.d_out);
  for (int c = 0; c < q.d_in; ++c) {
    std::fill(x.begin(), x.end(), 0.0);
    for (int i = 0; i < m; ++i) x[i] = g(i, c);
    q_out.apply(x.data(), y.data());
    for (int r = 0; r < q.d_out; ++r) w.W(r, c) = to_half(y[r]);
  }
  w.US.resize(q.d_out, q.rank);
  w.Vt.resize(q.rank, q.d_in);
  for (int i = 0; i < q.rank; ++i) {
    const auto u = q_out.column(i);
    for (int r = 0; r < q.d_out; ++r) w.US(r, i) = to_half(w.spectrum[i] * u[r]);
    const auto v = q_in.column(i);
    for (int c = 0; c < q.d_in; ++c) w.Vt(i, c) = to_half(v[c]);
  }
  return w;
}

// The real model's linear and its factors at the requested rank (workloads/model/real_linear.hpp).
SpectralWeights model_weight(const LowrankGenRequest& q) {
  const auto rl = model::real_linear(q.params.string("model_id"), q.params.string("text"),
                                     static_cast<int>(q.params.integer("layer")), q.projection, q.params.string("svd"),
                                     q.tokens, static_cast<int>(q.params.integer("calibration_tokens")),
                                     static_cast<int>(q.params.integer("eval_tokens")));
  const MatrixF& W = rl->weights->linear(rl->layer, rl->projection);
  if (W.rows() != q.d_out || W.cols() != q.d_in)
    throw std::invalid_argument(fmt::format("generator model: {} of layer {} is {} x {}, the point asks {} x {}",
                                            q.projection, rl->layer, W.rows(), W.cols(), q.d_out, q.d_in));
  SpectralWeights sw;
  sw.W = W.cast<Half>();
  MatrixD US, Vt;
  rl->factors(q.rank, US, Vt);
  sw.US = US.cast<float>().cast<Half>();
  sw.Vt = Vt.cast<float>().cast<Half>();
  sw.spectrum = rl->s;
  sw.X = rl->X.cast<Half>();
  sw.real = rl;
  return sw;
}

[[maybe_unused]] const bool registered = [] {
  Registry::instance().add_workload(
      {"lowrank_linear", "model",
       "a real weight of the real model (layer, projection), its real inputs from a prefill of real text; SVD plain or "
       "activation-aware (whitened, as SVD-LLM); gives fidelity.model",
       model_generator_params(),
       LowrankGenerator(model_weight)});
  Registry::instance().add_workload(
      {"lowrank_linear", "spectral", "random orthogonal singular vectors, singular values (i+1)^-decay, exact truncation",
       spectral_generator_params(),
       LowrankGenerator(spectral)});
  return true;
}();

}  // namespace
}  // namespace lrb
