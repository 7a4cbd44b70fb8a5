// lowrank_ffn: parameters, problem construction (three weights from a lowrank_linear generator), the FP64
// references (the uncompressed FFN and the FFN of the truncated factors), check and floor.
#include <algorithm>
#include <cmath>
#include <stdexcept>

#include <fmt/format.h>

#include "harness/registry.hpp"
#include "workloads/common/fidelity.hpp"
#include "workloads/common/rng.hpp"
#include "workloads/lowrank_ffn/method_base.hpp"
#include "workloads/lowrank_linear/generators.hpp"
#include "workloads/model/real_linear.hpp"

namespace lrb {

double LowrankFactors::energy_kept() const {
  double total = 0, kept = 0;
  for (std::size_t i = 0; i < spectrum.size(); ++i) {
    total += spectrum[i] * spectrum[i];
    if (static_cast<int>(i) < rank()) kept += spectrum[i] * spectrum[i];
  }
  return total > 0 ? kept / total : 1.0;
}

namespace {

using Matrix = LowrankFfnProblem::Matrix;
constexpr Matrix kMatrices[] = {LowrankFfnProblem::gate, LowrankFfnProblem::up, LowrankFfnProblem::down};

// The FFN in FP64 on rows `rows` of X, with each matrix applied by `apply(k, in) -> in W_k^T`.
template <class Apply>
MatrixD ffn_fp64(const MatrixD& x, Apply&& apply) {
  const MatrixD g = apply(LowrankFfnProblem::gate, x), u = apply(LowrankFfnProblem::up, x);
  MatrixD h(g.rows(), g.cols());
  for (Eigen::Index i = 0; i < h.size(); ++i) h.data()[i] = g.data()[i] / (1.0 + std::exp(-g.data()[i])) * u.data()[i];
  return apply(LowrankFfnProblem::down, h);
}

class LowrankFfnFamily final : public TaskFamily {
 public:
  std::string id() const override { return "lowrank_ffn"; }
  std::string description() const override {
    return "a SwiGLU FFN whose gate, up and down weights are each truncated SVD factors: "
           "y = down(silu(gate(x)) * up(x))";
  }
  ParamSpecs params() const override {
    return {
        {"model", ParamType::string, "tiny", "model shape: its hidden size and FFN width (lrbench list models)", {}, {},
         Registry::instance().model_ids()},
        {"d_model", ParamType::integer, 0, "override the hidden size (0: the model's)", 0.0, 131072.0, {}},
        {"d_ff", ParamType::integer, 0, "override the FFN width (0: the model's)", 0.0, 262144.0, {}},
        {"tokens", ParamType::integer, 16, "rows of X", 1.0, 1048576.0, {}},
        {"rank", ParamType::integer, 64, "kept rank of each matrix (unless overridden below, or energy > 0)", 1.0,
         131072.0, {}},
        {"rank_gate", ParamType::integer, 0, "gate's rank (0: rank)", 0.0, 131072.0, {}},
        {"rank_up", ParamType::integer, 0, "up's rank (0: rank)", 0.0, 131072.0, {}},
        {"rank_down", ParamType::integer, 0, "down's rank (0: rank)", 0.0, 131072.0, {}},
        {"energy", ParamType::number, 0.0,
         "each matrix keeps the smallest rank with this fraction of its sum s^2 (0: the ranks above)", 0.0, 1.0, {}},
        {"generator", ParamType::string, "spectral", "weight generator (lrbench list workloads)", {}, {},
         {"spectral", "model"}},
        {"seed", ParamType::integer, 0, "seed of every generated tensor", 0.0, kMaxExactInteger, {}},
    };
  }

  std::optional<std::pair<std::string, std::string>> invalid_point(const Point& point) const override {
    const Params p = point.params();
    const auto [d, dff] = dims(p);
    if (p.string("generator") == "model")
      if (auto bad = invalid_model_point(p, {"d_model", "d_ff"})) return bad;
    if (p.number("energy") > 0) return std::nullopt;
    for (Matrix k : kMatrices) {
      const int r = rank_of(p, k);
      if (r > std::min(d, dff))
        return std::make_pair(rank_param(p, k), fmt::format("{}'s rank {} exceeds min(d_model, d_ff) = {}",
                                                            LowrankFfnProblem::kNames[k], r, std::min(d, dff)));
    }
    return std::nullopt;
  }

  MemoryEstimate estimate_memory(const Point& point) const override {
    const Params p = point.params();
    const auto [d, dff] = dims(p);
    const double w = static_cast<double>(d) * dff, t = static_cast<double>(p.integer("tokens"));
    double factors = 0;
    for (Matrix k : kMatrices) factors += static_cast<double>(std::min(rank_of(p, k), std::min(d, dff))) * (d + dff);
    if (p.number("energy") > 0) factors = 3.0 * std::min(d, dff) * (d + dff);  // generated whole, then cut
    MemoryEstimate e;
    // Host: each weight in fp16, its generator's FP64 work matrix (one at a time), the FP64 reference's copies
    // of the three and a CPU path's fp32 copies; X, Y and [T, d_ff] intermediates in fp32 and FP64.
    e.host_bytes = w * (3 * (2 + 8 + 4) + 8) + t * (d * (2 + 4 + 8) + dff * 3 * (4 + 8)) + factors * (2 + 4 + 8);
    // Device: the three weights and the factors in fp16 (two prepared copies), X, Y and three [T, d_ff]
    // intermediates of an unfused path.
    e.device_bytes = 2 * 2 * (3 * w + factors + 2 * t * d) + 2 * 3 * t * dff;
    e.arithmetic = fmt::format("three {} x {} weights ({:.3g} GiB fp16 each), {} tokens; host ~50 bytes per weight "
                               "element, device 12",
                               dff, d, 2 * w / (1 << 30), p.integer("tokens"));
    add_model_generator_memory(p, e);
    return e;
  }

  std::shared_ptr<const Problem> make_problem(const Point& point) const override {
    const Params p = point.params();
    const auto [d, dff] = dims(p);
    const auto [gen, gen_params] = lowrank_generator(id(), p.string("generator"), point);

    auto prob = std::make_shared<LowrankFfnProblem>();
    prob->model = p.string("model");
    prob->generator = p.string("generator");
    prob->seed = static_cast<std::uint64_t>(p.integer("seed"));
    prob->d_model = d, prob->d_ff = dff;
    prob->tokens = static_cast<int>(p.integer("tokens"));
    const double energy = p.number("energy");
    for (Matrix k : kMatrices) {
      LowrankGenRequest req;
      const bool down = k == LowrankFfnProblem::down;
      req.d_in = down ? dff : d, req.d_out = down ? d : dff;
      req.seed = prob->seed;
      req.projection = LowrankFfnProblem::kNames[k];
      req.key = projection_key(req.projection);  // lowrank_linear's: the same seed, the same weight
      req.params = gen_params;
      req.tokens = prob->tokens;
      // By energy: the whole factors once, then cut at the rank the (exact) spectrum asks.
      req.rank = energy > 0 ? std::min(req.d_in, req.d_out) : rank_of(p, k);
      SpectralWeights sw = gen(req);
      LowrankFactors& f = prob->m[k];
      f.spectrum = std::move(sw.spectrum);
      const int r = energy > 0 ? rank_for_energy(f.spectrum, energy) : req.rank;
      f.W = std::move(sw.W);
      f.US = sw.US.leftCols(r);
      f.Vt = sw.Vt.topRows(r);
      prob->real[k] = sw.real;
      if (k == LowrankFfnProblem::gate && sw.X.size() > 0) prob->X = std::move(sw.X);  // the FFN's real input
    }
    if (prob->X.size() > 0) return prob;
    Rng rx(stream_seed(prob->seed, {kStreamActivations, 0xFF0Full}));
    prob->X.resize(prob->tokens, d);
    for (Eigen::Index i = 0; i < prob->X.size(); ++i) prob->X.data()[i] = to_half(rx.normal());
    return prob;
  }

  Json workload_info(const Problem& problem) const override {
    const auto& p = static_cast<const LowrankFfnProblem&>(problem);
    Json j = {{"generator", p.generator},
              {"seed", p.seed},
              {"source", p.real[0] ? "a real layer's FFN weights and its real inputs (workloads/model/real_linear.hpp)"
                                   : "synthetic"},
              {"d_model", p.d_model},
              {"d_ff", p.d_ff}};
    for (Matrix k : kMatrices)
      j[LowrankFfnProblem::kNames[k]] = {{"rank", p.m[k].rank()}, {"energy_kept", p.m[k].energy_kept()}};
    return j;
  }

  bool accepts(const Method& method) const override { return dynamic_cast<const LowrankFfnMethod*>(&method) != nullptr; }

  std::vector<OutputShape> output_shapes(const Problem& problem) const override {
    const auto& p = static_cast<const LowrankFfnProblem&>(problem);
    return {{"Y", static_cast<std::size_t>(p.tokens), static_cast<std::size_t>(p.d_model)}};
  }

  std::vector<Json> conformance_shapes() const override {
    // d_ff not a multiple of 64, r = 1, one token; unequal ranks; ranks by energy; a real model's widths; 9-16
    // tokens with odd widths and d_ff over several 128-row tiles (flashsvd_ffn's decode kernel); d_ff over more
    // 16-row tiles than twice an H100's SMs with a down rank over several m-tiles a warp.
    return {Json{{"d_model", 40}, {"d_ff", 100}, {"rank", 1}, {"tokens", 1}},
            Json{{"d_model", 300}, {"d_ff", 333}, {"rank_gate", 20}, {"rank_up", 37}, {"rank_down", 11}, {"tokens", 12}},
            Json{{"d_model", 64}, {"d_ff", 72}, {"rank_gate", 5}, {"rank_up", 9}, {"rank_down", 3}, {"tokens", 33}},
            Json{{"d_model", 48}, {"d_ff", 136}, {"energy", 0.9}, {"tokens", 7}},
            Json{{"d_model", 320}, {"d_ff", 4500}, {"rank_gate", 150}, {"rank_up", 170}, {"rank_down", 300}, {"tokens", 11}},
            Json{{"model", "smollm-135m"}, {"rank", 64}, {"tokens", 17}},
            Json{{"model", "smollm-135m"}, {"rank", 64}, {"tokens", 16}}};
  }

  Comparison compare(const Problem& problem, const MethodInfo& info, const Method&, const std::vector<HostOutput>& out,
                     const CheckOptions& options) const override {
    const auto& p = static_cast<const LowrankFfnProblem&>(problem);
    const MatrixF& y = out[0].values;
    // Tokens are independent: above the reference budget, evenly spaced rows (the first and last included).
    const double per_token = 2.0 * 3 * p.d_model * p.d_ff;
    const int n = static_cast<int>(std::clamp<double>(std::floor(options.max_reference_flops / per_token), 1, p.tokens));
    std::vector<int> rows(n);
    for (int i = 0; i < n; ++i) rows[i] = n == 1 ? 0 : static_cast<int>(static_cast<long long>(i) * (p.tokens - 1) / (n - 1));
    MatrixD x(n, p.d_model);
    for (int i = 0; i < n; ++i) x.row(i) = p.X.row(rows[i]).cast<float>().cast<double>();
    const auto as_double = [](const MatrixH& m) { return MatrixD(m.cast<float>().cast<double>()); };
    const MatrixD full = ffn_fp64(x, [&](Matrix k, const MatrixD& in) { return MatrixD(in * as_double(p.m[k].W).transpose()); });
    const MatrixD trunc = ffn_fp64(x, [&](Matrix k, const MatrixD& in) {
      return MatrixD((in * as_double(p.m[k].Vt).transpose()) * as_double(p.m[k].US).transpose());
    });
    ErrorAccumulator vs_full, vs_trunc;
    for (int i = 0; i < n; ++i)
      for (int c = 0; c < p.d_model; ++c) {
        vs_full.add(y(rows[i], c), full(i, c));
        vs_trunc.add(y(rows[i], c), trunc(i, c));
      }
    const bool to_full = info.traits.target == "full";
    Comparison r =
        lowrank_comparison(vs_full, vs_trunc, to_full, "the uncompressed FFN", "the FFN of the truncated factors");
    Json& f = r.fidelity;
    f["rows_checked"] = n;
    if (n < p.tokens) f["sampled"] = fmt::format("{} evenly spaced rows of {} (FP64 budget {:.3g} FLOPs)", n, p.tokens,
                                                 options.max_reference_flops);
    for (Matrix k : kMatrices) f["energy_kept"][LowrankFfnProblem::kNames[k]] = p.m[k].energy_kept();
    if (p.real[0]) {  // the FFN the method stands for: W itself for a full-FFN method, else each W_r = US Vt
      std::vector<std::pair<std::string, MatrixF>> used;
      for (Matrix k : kMatrices)
        used.emplace_back(LowrankFfnProblem::kNames[k], to_full ? MatrixF(p.m[k].W.cast<float>())
                                                                : MatrixF(p.m[k].US.cast<float>() * p.m[k].Vt.cast<float>()));
      const auto& rl = *p.real[0];
      f["model"] = model::layer_fidelity(
          rl, used,
          fmt::format("layer {}'s gate, up and down by the weights the method computes with (fp16 W for a full-FFN "
                      "method, else each W_r = US Vt of the record's factors; the kernel's own error is the "
                      "tensor-level fidelity)",
                      rl.layer));
    }
    return r;
  }

  Floor floor(const Problem& problem, const Method&) const override {
    const auto& p = static_cast<const LowrankFfnProblem&>(problem);
    Floor f;
    for (Matrix k : kMatrices) {
      f.bytes += fp16_bytes(p.m[k].US.rows() + p.m[k].Vt.cols(), p.m[k].rank());
      f.flops += 2.0 * p.tokens * p.m[k].rank() * (p.m[k].US.rows() + p.m[k].Vt.cols());
    }
    f.bytes += fp16_bytes(p.tokens, 2 * p.d_model);
    f.write_bytes = fp16_bytes(p.tokens, p.d_model);
    f.note = "fp16: the six factors + X + Y, each once (the [T, r] and [T, d_ff] intermediates stay on chip)";
    return f;
  }

 private:
  static std::pair<int, int> dims(const Params& p) {
    const ModelShape* model = Registry::instance().model(p.string("model"));
    if (!model) throw std::invalid_argument("unknown model " + p.string("model"));
    const int d = p.integer("d_model") > 0 ? static_cast<int>(p.integer("d_model")) : model->hidden;
    const int dff = p.integer("d_ff") > 0 ? static_cast<int>(p.integer("d_ff")) : model->ffn;
    return {d, dff};
  }
  static std::string rank_param(const Params& p, Matrix k) {
    const std::string own = fmt::format("rank_{}", LowrankFfnProblem::kNames[k]);
    return p.integer(own) > 0 ? own : "rank";
  }
  static int rank_of(const Params& p, Matrix k) { return static_cast<int>(p.integer(rank_param(p, k))); }
};

// lowrank_linear's generator `id`, called once per matrix (gate, up, down under their own keys and names),
// looked up when called: the two families register in no fixed order.
LowrankGenerator forward_to(const std::string& id) {
  return [id](const LowrankGenRequest& q) {
    return std::any_cast<LowrankGenerator>(Registry::instance().workload("lowrank_linear", id)->generate)(q);
  };
}

[[maybe_unused]] const bool registered = [] {
  Registry::instance().add_family(std::make_shared<LowrankFfnFamily>());
  Registry::instance().add_workload(
      {"lowrank_ffn", "spectral",
       "each weight as lowrank_linear's spectral generator makes it: random orthogonal singular vectors, singular "
       "values (i+1)^-decay, exact truncation",
       spectral_generator_params(), forward_to("spectral")});
  Registry::instance().add_workload(
      {"lowrank_ffn", "model",
       "a real layer's gate, up and down (lowrank_linear's model generator, each matrix under its projection name), "
       "the FFN's real inputs from a prefill of real text; SVD plain or whitened; gives fidelity.model with the "
       "layer's FFN replaced",
       model_generator_params(), forward_to("model")});
  return true;
}();

}  // namespace
}  // namespace lrb
