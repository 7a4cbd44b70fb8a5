// lowrank_linear: parameters, problem construction, FP64 references (X W^T and X W_r^T), check, floor.
#include <cmath>
#include <stdexcept>

#include <fmt/format.h>

#include "harness/registry.hpp"
#include "workloads/common/fidelity.hpp"
#include "workloads/common/rng.hpp"
#include "workloads/lowrank_linear/generators.hpp"
#include "workloads/lowrank_linear/method_base.hpp"
#include "workloads/model/real_linear.hpp"

namespace lrb {

int rank_for_energy(const std::vector<double>& spectrum, double energy) {
  double total = 0, kept = 0;
  for (double s : spectrum) total += s * s;
  for (std::size_t i = 0; i < spectrum.size(); ++i) {
    kept += spectrum[i] * spectrum[i];
    if (kept >= energy * total) return static_cast<int>(i + 1);
  }
  return static_cast<int>(spectrum.size());
}

namespace {

class LowrankLinearFamily final : public TaskFamily {
 public:
  std::string id() const override { return "lowrank_linear"; }
  std::string description() const override {
    return "a linear layer stored as truncated SVD factors: Y = X (U_r S_r V_r^T)^T";
  }
  ParamSpecs params() const override {
    return {
        {"model", ParamType::string, "tiny", "model shape (lrbench list models)", {}, {}, Registry::instance().model_ids()},
        {"projection", ParamType::string, "q", "which projection's shape", {}, {},
         {"q", "k", "v", "o", "gate", "up", "down", "qkv"}},
        {"d_in", ParamType::integer, 0, "override d_in (0: the projection's)", 0.0, 131072.0, {}},
        {"d_out", ParamType::integer, 0, "override d_out (0: the projection's)", 0.0, 131072.0, {}},
        {"tokens", ParamType::integer, 16, "rows of X", 1.0, 1048576.0, {}},
        {"rank", ParamType::integer, 8, "kept rank r (ignored when energy > 0)", 1.0, 131072.0, {}},
        {"energy", ParamType::number, 0.0, "keep the smallest rank with this fraction of sum s^2 (0: use rank)", 0.0,
         1.0, {}},
        {"generator", ParamType::string, "spectral", "weight generator (lrbench list workloads)", {}, {},
         {"spectral", "model"}},
        {"seed", ParamType::integer, 0, "seed of every generated tensor", 0.0, kMaxExactInteger, {}},
    };
  }

  std::optional<std::pair<std::string, std::string>> invalid_point(const Point& point) const override {
    const Params p = point.params();
    const auto [din, dout] = dims(p);
    if (p.string("generator") == "model") {
      if (auto bad = invalid_model_point(p, {"d_in", "d_out"})) return bad;
      if (p.string("projection") == "qkv")
        return std::make_pair(std::string("projection"), "the model's linears are q, k, v, o, gate, up, down");
    }
    if (p.number("energy") == 0 && p.integer("rank") > std::min(din, dout))
      return std::make_pair(std::string("rank"),
                            fmt::format("rank {} exceeds min(d_in, d_out) = {}", p.integer("rank"), std::min(din, dout)));
    return std::nullopt;
  }

  MemoryEstimate estimate_memory(const Point& point) const override {
    const Params p = point.params();
    const auto [din, dout] = dims(p);
    const double w = static_cast<double>(din) * dout, io = static_cast<double>(p.integer("tokens")) * (din + dout);
    const double factors = static_cast<double>(std::min<long long>(p.integer("rank"), std::min(din, dout))) * (din + dout);
    MemoryEstimate e;
    // Host: W generated and referenced in FP64 (two 8-byte copies), a CPU path's fp32 copy, the fp16
    // problem; X, Y and the references in FP64; the factors.
    e.host_bytes = w * (8 + 8 + 4 + 2) + io * (2 + 8 + 8) + factors * (2 + 4);
    e.device_bytes = 2 * 2 * (w + io + factors);  // two prepared copies, fp16
    e.arithmetic = fmt::format("a {} x {} weight ({:.3g} GiB fp16), {} tokens; host 22 bytes per weight element, device "
                               "4", dout, din, 2 * w / (1 << 30), p.integer("tokens"));
    add_model_generator_memory(p, e);
    return e;
  }

  std::shared_ptr<const Problem> make_problem(const Point& point) const override {
    const Params p = point.params();
    const auto [din, dout] = dims(p);
    const auto [gen, gen_params] = lowrank_generator(id(), p.string("generator"), point);

    auto prob = std::make_shared<LowrankProblem>();
    prob->model = p.string("model");
    prob->projection = p.string("projection");
    prob->generator = p.string("generator");
    prob->seed = static_cast<std::uint64_t>(p.integer("seed"));
    prob->d_in = din;
    prob->d_out = dout;
    prob->tokens = static_cast<int>(p.integer("tokens"));
    LowrankGenRequest req;
    req.d_in = din;
    req.d_out = dout;
    req.seed = prob->seed;
    req.key = projection_key(prob->projection);
    req.params = gen_params;
    req.projection = prob->projection;
    req.tokens = prob->tokens;
    req.rank = static_cast<int>(p.integer("rank"));
    if (p.number("energy") > 0) {
      // The spectrum is analytic; generate it once to pick the rank, then the factors at that rank.
      req.rank = 1;
      const auto probe = gen(req).spectrum;
      req.rank = rank_for_energy(probe, p.number("energy"));
    }
    SpectralWeights sw = gen(req);
    prob->rank = req.rank;
    prob->W = std::move(sw.W);
    prob->US = std::move(sw.US);
    prob->Vt = std::move(sw.Vt);
    prob->spectrum = std::move(sw.spectrum);
    double total = 0, kept = 0;
    for (std::size_t i = 0; i < prob->spectrum.size(); ++i) {
      total += prob->spectrum[i] * prob->spectrum[i];
      if (static_cast<int>(i) < prob->rank) kept += prob->spectrum[i] * prob->spectrum[i];
    }
    prob->energy_kept = kept / total;
    prob->real = sw.real;
    if (sw.X.size() > 0) {  // the real inputs
      prob->X = std::move(sw.X);
      return prob;
    }
    Rng rx(stream_seed(prob->seed, {kStreamActivations, req.key}));
    prob->X.resize(prob->tokens, din);
    for (Eigen::Index i = 0; i < prob->X.size(); ++i) prob->X.data()[i] = to_half(rx.normal());
    return prob;
  }

  Json workload_info(const Problem& problem) const override {
    const auto& p = static_cast<const LowrankProblem&>(problem);
    return {{"generator", p.generator}, {"seed", p.seed},
            {"source", p.real ? "a real weight and its real inputs (workloads/model/real_linear.hpp)" : "synthetic"},
            {"d_in", p.d_in},           {"d_out", p.d_out},     {"rank", p.rank},
            {"energy_kept", p.energy_kept}};
  }

  bool accepts(const Method& method) const override {
    return dynamic_cast<const LowrankLinearMethod*>(&method) != nullptr;
  }

  std::vector<OutputShape> output_shapes(const Problem& problem) const override {
    const auto& p = static_cast<const LowrankProblem&>(problem);
    return {{"Y", static_cast<std::size_t>(p.tokens), static_cast<std::size_t>(p.d_out)}};
  }

  std::vector<Json> conformance_shapes() const override {
    // d not a multiple of 16, r = 1, one token, a rank by energy; 9-16 tokens (flashsvd's decode kernel with two
    // token tiles), d_in not a multiple of 8 and d_in split over several blocks; a rank not a multiple of 16
    // over several slices of d_in, the last one partial, and d_out over more 16-row tiles than an H100 has SMs.
    return {Json{{"d_in", 37}, {"d_out", 23}, {"rank", 1}, {"tokens", 1}},
            Json{{"d_in", 40}, {"d_out", 72}, {"rank", 5}, {"tokens", 33}},
            Json{{"d_in", 64}, {"d_out", 17}, {"energy", 0.9}, {"tokens", 7}},
            Json{{"d_in", 300}, {"d_out", 130}, {"rank", 40}, {"tokens", 12}},
            Json{{"d_in", 1024}, {"d_out", 96}, {"rank", 70}, {"tokens", 16}},
            Json{{"d_in", 2056}, {"d_out", 2100}, {"rank", 600}, {"tokens", 9}},
            Json{{"model", "smollm-135m"}, {"projection", "down"}, {"rank", 64}, {"tokens", 33}}};
  }

  Comparison compare(const Problem& problem, const MethodInfo& info, const Method&, const std::vector<HostOutput>& out,
                     const CheckOptions&) const override {
    const auto& p = static_cast<const LowrankProblem&>(problem);
    const MatrixF& y = out[0].values;
    const MatrixD X = p.X.cast<float>().cast<double>();
    const MatrixD full = X * p.W.cast<float>().cast<double>().transpose();
    const MatrixD trunc = (X * p.Vt.cast<float>().cast<double>().transpose()) * p.US.cast<float>().cast<double>().transpose();
    ErrorAccumulator vs_full, vs_trunc;
    for (int t = 0; t < p.tokens; ++t)
      for (int c = 0; c < p.d_out; ++c) {
        vs_full.add(y(t, c), full(t, c));
        vs_trunc.add(y(t, c), trunc(t, c));
      }
    const bool to_full = info.traits.target == "full";
    Comparison r = lowrank_comparison(vs_full, vs_trunc, to_full, "X W^T", "X W_r^T");
    Json& f = r.fidelity;
    f["energy_kept"] = p.energy_kept;
    if (p.real) {  // the layer the method stands for: W itself for a full-layer method, else W_r = US Vt
      const MatrixF used = to_full ? MatrixF(p.W.cast<float>()) : MatrixF(p.US.cast<float>() * p.Vt.cast<float>());
      f["model"] = model::linear_fidelity(*p.real, used);
    }
    return r;
  }

  Floor floor(const Problem& problem, const Method&) const override {
    const auto& p = static_cast<const LowrankProblem&>(problem);
    Floor f;
    f.bytes = fp16_bytes(p.rank, p.d_in + p.d_out) + fp16_bytes(p.tokens, p.d_in + p.d_out);
    f.flops = 2.0 * p.tokens * p.rank * (p.d_in + p.d_out);
    f.note = "fp16: factors US, Vt + X + Y, each once (the rank-r intermediate stays on chip)";
    return f;
  }

 private:
  static std::pair<int, int> dims(const Params& p) {
    const ModelShape* model = Registry::instance().model(p.string("model"));
    if (!model) throw std::invalid_argument("unknown model " + p.string("model"));
    const ProjectionShape* proj = model->projection(p.string("projection"));
    const int din = p.integer("d_in") > 0 ? static_cast<int>(p.integer("d_in")) : proj->d_in;
    const int dout = p.integer("d_out") > 0 ? static_cast<int>(p.integer("d_out")) : proj->d_out;
    return {din, dout};
  }
};

[[maybe_unused]] const bool registered = Registry::instance().add_family(std::make_shared<LowrankLinearFamily>());

}  // namespace
}  // namespace lrb
