// adapter_projection: parameters, problem construction, FP64 reference, correctness check, floor.
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <stdexcept>

#include <fmt/format.h>

#include "harness/registry.hpp"
#include "workloads/adapter_projection/method_base.hpp"
#include "workloads/adapter_projection/problem.hpp"
#include "workloads/common/fidelity.hpp"
#include "workloads/common/last_value.hpp"
#include "workloads/common/parallel.hpp"
#include "workloads/common/rng.hpp"

namespace lrb {

std::vector<int> AdapterProblem::distinct_adapters() const {
  std::vector<int> ids;
  for (const auto& g : groups) ids.push_back(g.adapter);
  return ids;
}

namespace {

std::vector<int> draw_token_adapters(const AdapterProblemSpec& s) {
  Rng rng(stream_seed(s.seed, {kStreamTokens}));
  std::vector<int> ids(s.batch, 0);
  if (s.popularity == "identical") return ids;
  if (s.popularity == "uniform") {
    for (auto& id : ids) id = static_cast<int>(rng.below(s.K));
  } else if (s.popularity == "zipf") {
    std::vector<double> cdf(s.K);
    double sum = 0;
    for (int k = 0; k < s.K; ++k) cdf[k] = (sum += std::pow(k + 1.0, -s.zipf_a));
    for (auto& id : ids) {
      const double u = rng.uniform() * sum;
      id = static_cast<int>(std::upper_bound(cdf.begin(), cdf.end(), u) - cdf.begin());
      id = std::min(id, s.K - 1);
    }
  } else if (s.popularity == "distinct") {
    if (s.K < s.batch) throw std::invalid_argument("popularity distinct needs K >= batch");
    std::vector<int> perm(s.K);
    for (int k = 0; k < s.K; ++k) perm[k] = k;
    for (int i = 0; i < s.batch; ++i) std::swap(perm[i], perm[i + rng.below(s.K - i)]);
    for (int i = 0; i < s.batch; ++i) ids[i] = perm[i];
  } else {
    throw std::invalid_argument("unknown popularity " + s.popularity);
  }
  return ids;
}

std::size_t physical_memory_bytes() {
  const long pages = ::sysconf(_SC_PHYS_PAGES), size = ::sysconf(_SC_PAGE_SIZE);
  return pages > 0 && size > 0 ? static_cast<std::size_t>(pages) * static_cast<std::size_t>(size) : 0;
}

}  // namespace

std::shared_ptr<AdapterProblem> build_adapter_problem(const AdapterProblemSpec& s) {
  const ModelShape* model = Registry::instance().model(s.model);
  if (!model) throw std::invalid_argument("unknown model " + s.model);
  const WorkloadInfo* gen = Registry::instance().workload("adapter_projection", s.generator);
  if (!gen) throw std::invalid_argument("unknown adapter generator " + s.generator);
  const auto generate = std::any_cast<AdapterGenerator>(gen->generate);
  const int layers = s.layers > 0 ? s.layers : model->n_layers;

  auto p = std::make_shared<AdapterProblem>();
  p->model = s.model;
  p->mode = s.mode;
  p->generator = s.generator;
  p->popularity = s.popularity;
  p->with_base = s.mode == "base+adapter";
  p->K = s.K;
  p->rank = s.rank;
  p->batch = s.batch;
  p->alpha = s.alpha;
  p->seed = s.seed;
  p->token_adapter = draw_token_adapters(s);
  std::map<int, std::size_t> group_of;
  for (int t = 0; t < s.batch; ++t) {
    const int a = p->token_adapter[t];
    auto it = group_of.find(a);
    if (it == group_of.end()) {
      group_of[a] = p->groups.size();
      p->groups.push_back({a, {t}});
    } else {
      p->groups[it->second].tokens.push_back(t);
    }
  }

  // Refuse before allocating what the host cannot hold.
  double bytes = 0;
  for (int l = 0; l < layers; ++l)
    for (const auto& name : s.projections) {
      const ProjectionShape* shape = model->projection(name);
      if (!shape) throw std::invalid_argument(fmt::format("model {} has no projection '{}'", s.model, name));
      const double din = s.d_in > 0 ? s.d_in : shape->d_in, dout = s.d_out > 0 ? s.d_out : shape->d_out;
      bytes += 2.0 * ((p->with_base ? din * dout : 0) + s.batch * din + double(s.K) * s.rank * (din + dout));
    }
  // Twice: the problem holds a copy of the generation caches' tensors.
  const double limit = 0.8 * static_cast<double>(physical_memory_bytes());
  if (limit > 0 && 2 * bytes > limit)
    throw std::runtime_error(fmt::format("problem needs 2 x {:.1f} GiB of host memory (problem + generation cache), more "
                                         "than 80% of this machine's {:.1f} GiB",
                                         bytes / (1 << 30), static_cast<double>(physical_memory_bytes()) / (1 << 30)));

  Json gp = gen->params.empty() ? Json::object() : with_defaults(gen->params, s.generator_params);
  struct Slot {
    int layer;
    const ProjectionShape* shape;
    std::uint64_t key;
    int d_in, d_out;
  };
  std::vector<Slot> slots;
  for (int l = 0; l < layers; ++l)
    for (const auto& name : s.projections) {
      const ProjectionShape* shape = model->projection(name);
      // Stable key: (layer, projection kind) so a projection's data does not depend on which others exist.
      const std::uint64_t key = (static_cast<std::uint64_t>(l) << 8) |
                                static_cast<std::uint64_t>(shape - model->projections.data());
      slots.push_back({l, shape, key, s.d_in > 0 ? s.d_in : shape->d_in, s.d_out > 0 ? s.d_out : shape->d_out});
    }

  // Each tensor depends only on its own coordinates, so consecutive sweep points reuse what did not change:
  // base weights (not on K, rank, batch), activations (not on K, rank), adapters (not on batch).
  const std::string shape_key = fmt::format("{}|{}|{}|{}|{}|{}", s.model, s.seed, layers, fmt::join(s.projections, ","),
                                            s.d_in, s.d_out);
  static LastValue<std::vector<MatrixH>> base_cache, x_cache;
  static LastValue<std::vector<std::vector<AdapterFactors>>> adapter_cache;
  std::shared_ptr<const std::vector<MatrixH>> weights;
  if (p->with_base)
    weights = base_cache.get(shape_key, [&] {
      std::vector<MatrixH> w(slots.size());
      parallel_for(slots.size(), [&](std::size_t i) {
        Rng rw(stream_seed(s.seed, {kStreamBaseWeight, slots[i].key}));
        w[i].resize(slots[i].d_out, slots[i].d_in);
        const double sw = 1.0 / std::sqrt(static_cast<double>(slots[i].d_in));
        for (Eigen::Index k = 0; k < w[i].size(); ++k) w[i].data()[k] = to_half(sw * rw.normal());
      });
      return w;
    });
  const auto activations = x_cache.get(fmt::format("{}|{}", shape_key, s.batch), [&] {
    std::vector<MatrixH> x(slots.size());
    parallel_for(slots.size(), [&](std::size_t i) {
      Rng rx(stream_seed(s.seed, {kStreamActivations, slots[i].key}));
      x[i].resize(s.batch, slots[i].d_in);
      for (Eigen::Index k = 0; k < x[i].size(); ++k) x[i].data()[k] = to_half(rx.normal());
    });
    return x;
  });
  p->adapters_key =
      fmt::format("{}|{}|{}|{}|{}|{}|{}", shape_key, s.K, s.rank, s.alpha, s.adapter_norm, s.generator, gp.dump());
  const auto adapters = adapter_cache.get(p->adapters_key, [&] {
        std::vector<std::vector<AdapterFactors>> a(slots.size());
        parallel_for(slots.size(), [&](std::size_t i) {
          AdapterGenRequest req;
          req.d_in = slots[i].d_in;
          req.d_out = slots[i].d_out;
          req.rank = s.rank;
          req.K = s.K;
          req.scale = static_cast<float>(s.alpha / s.rank);
          req.adapter_norm = s.adapter_norm;
          req.seed = s.seed;
          req.projection_key = slots[i].key;
          req.layer = slots[i].layer;
          req.projection = slots[i].shape->name;
          req.params = Params(gp);
          a[i] = generate(req);
        });
        return a;
      });

  if (gp.contains("peft_dir")) p->source = gp["peft_dir"].get<std::string>();
  p->projections.resize(slots.size());
  parallel_for(slots.size(), [&](std::size_t i) {
    ProjectionProblem& proj = p->projections[i];
    proj.name = fmt::format("L{}.{}", slots[i].layer, slots[i].shape->name);
    proj.layer = slots[i].layer;
    proj.d_in = slots[i].d_in;
    proj.d_out = slots[i].d_out;
    if (weights) proj.W = (*weights)[i];
    proj.X = (*activations)[i];
    proj.adapters = (*adapters)[i];
  });
  return p;
}

const AdapterReference& cached_adapter_reference(const AdapterProblem& problem, std::size_t pi) {
  auto it = problem.reference_cache.find(pi);
  if (it == problem.reference_cache.end())
    it = problem.reference_cache.emplace(pi, std::make_shared<const AdapterReference>(adapter_reference(problem, pi))).first;
  return *it->second;
}

AdapterReference adapter_reference(const AdapterProblem& problem, std::size_t pi) {
  const ProjectionProblem& proj = problem.projections[pi];
  const MatrixD X = proj.X.cast<float>().cast<double>();
  AdapterReference ref;
  if (problem.with_base) ref.base = X * proj.W.cast<float>().cast<double>().transpose();
  ref.adapter = MatrixD::Zero(problem.batch, proj.d_out);
  for (const auto& g : problem.groups) {
    const AdapterFactors& f = proj.adapters[g.adapter];
    const MatrixD A = f.A.cast<float>().cast<double>(), B = f.B.cast<float>().cast<double>();
    for (int t : g.tokens) {
      const Eigen::VectorXd h = A * X.row(t).transpose();
      ref.adapter.row(t) = (static_cast<double>(f.scale) * (B * h)).transpose();
    }
  }
  return ref;
}

namespace {

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
         {"q", "k", "v", "o", "gate", "up", "down"}},
        {"layers", ParamType::integer, 1, "layers (0: all of the model's)", 0.0, {}, {}},
        {"mode", ParamType::string, "base+adapter", "base+adapter, or adapter-only (the LoRA path alone)", {}, {},
         {"base+adapter", "adapter-only"}},
        {"K", ParamType::integer, 16, "adapters resident per projection", 1.0, {}, {}},
        {"rank", ParamType::integer, 16, "LoRA rank r", 1.0, {}, {}},
        {"batch", ParamType::integer, 16, "tokens in the batch", 1.0, {}, {}},
        {"alpha", ParamType::number, 32.0, "LoRA alpha (scale s = alpha / rank)", 1e-9, {}, {}},
        {"popularity", ParamType::string, "uniform", "adapter of each token", {}, {},
         {"identical", "uniform", "zipf", "distinct"}},
        {"zipf_a", ParamType::number, 1.1, "exponent of the zipf popularity", 0.0, {}, {}},
        {"adapter_norm", ParamType::number, 0.25, "||s B A||_F / sqrt(d_out) (the base has ~1)", 0.0, {}, {}},
        {"generator", ParamType::string, "trained_like", "adapter generator (lrbench list workloads)", {}, {},
         {"gaussian", "trained_like", "shared_subspace", "peft"}},
        {"seed", ParamType::integer, 0, "seed of every generated tensor", 0.0, {}, {}},
        {"d_in", ParamType::integer, 0, "override every projection's d_in (0: the model's)", 0.0, {}, {}},
        {"d_out", ParamType::integer, 0, "override every projection's d_out (0: the model's)", 0.0, {}, {}},
    };
  }

  std::optional<std::pair<std::string, std::string>> invalid_point(const Point& point) const override {
    const Params p = point.params();
    const ModelShape* model = Registry::instance().model(p.string("model"));
    if (!model) return std::make_pair(std::string("model"), "unknown model " + p.string("model"));
    for (const auto& name : p.string_list("projections"))
      if (!model->projection(name))
        return std::make_pair(std::string("projections"), fmt::format("model {} has no projection '{}'", model->id, name));
    if (p.integer("layers") > model->n_layers)
      return std::make_pair(std::string("layers"),
                            fmt::format("model {} has {} layers (got {})", model->id, model->n_layers, p.integer("layers")));
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
    s.adapter_norm = p.number("adapter_norm");
    s.generator = p.string("generator");
    s.seed = static_cast<std::uint64_t>(p.integer("seed"));
    s.d_in = static_cast<int>(p.integer("d_in"));
    s.d_out = static_cast<int>(p.integer("d_out"));
    if (const WorkloadInfo* w = Registry::instance().workload(id(), s.generator))
      for (const auto& spec : w->params) s.generator_params[spec.name] = point.values.at(spec.name);
    return build_adapter_problem(s);
  }

  Json workload_info(const Problem& problem) const override {
    const auto& p = static_cast<const AdapterProblem&>(problem);
    return {{"generator", p.generator},
            {"seed", p.seed},
            {"source", p.source},
            {"projections", p.projections.size()},
            {"distinct_adapters", p.groups.size()}};
  }

  bool accepts(const Method& method) const override {
    return dynamic_cast<const AdapterProjectionMethod*>(&method) != nullptr;
  }

  CheckResult check(const Problem& problem, Method& method, ExecContext& ctx,
                    const CheckOptions& options) const override {
    const auto& p = static_cast<const AdapterProblem&>(problem);
    auto& m = dynamic_cast<AdapterProjectionMethod&>(method);
    m.poison_output();
    m.run(ctx);
    ctx.synchronize();
    const auto& out = m.output();
    CheckResult result;
    if (out.size() != p.projections.size())
      throw std::runtime_error(fmt::format("method returned {} outputs for {} projections", out.size(), p.projections.size()));

    std::int64_t nonfinite = 0;
    for (std::size_t i = 0; i < out.size(); ++i) {
      if (out[i].rows() != p.batch || out[i].cols() != p.projections[i].d_out)
        throw std::runtime_error(fmt::format("output {} is {}x{}, expected {}x{}", i, out[i].rows(), out[i].cols(),
                                             p.batch, p.projections[i].d_out));
      nonfinite += (!out[i].array().isFinite()).count();
    }

    // Which projections get an FP64 reference: all, or an evenly spaced sample under the FLOP budget.
    const auto& p0 = p.projections.front();
    const double flops_per_proj = 2.0 * p.batch * ((p.with_base ? double(p0.d_in) * p0.d_out : 0.0) +
                                                   double(p.rank) * (p0.d_in + p0.d_out));
    const std::size_t n = p.projections.size();
    std::size_t count = n;
    if (flops_per_proj * n > options.max_reference_flops)
      count = std::max<std::size_t>(1, static_cast<std::size_t>(options.max_reference_flops / flops_per_proj));
    std::vector<std::size_t> chosen;
    for (std::size_t i = 0; i < count; ++i) chosen.push_back(i * n / count);

    const bool to_base = m.target() == AdapterProjectionMethod::Target::base;
    ErrorAccumulator target, adapter_part;
    for (std::size_t pi : chosen) {
      const AdapterReference& ref = cached_adapter_reference(p, pi);
      const MatrixF& y = out[pi];
      for (int t = 0; t < p.batch; ++t)
        for (int c = 0; c < p.projections[pi].d_out; ++c) {
          const double base = p.with_base ? ref.base(t, c) : 0.0;
          const double want = to_base ? base : base + ref.adapter(t, c);
          target.add(y(t, c), want);
          if (!to_base) adapter_part.add(static_cast<double>(y(t, c)) - base, ref.adapter(t, c));
        }
    }
    Json f = target.to_json();
    f["reference"] = "fp64";
    f["target"] = to_base ? "base" : (p.with_base ? "base+adapter" : "adapter");
    if (!to_base && p.with_base) {
      f["adapter_rel_error"] = adapter_part.rel_error();
      f["adapter_max_abs_error"] = adapter_part.max_abs_error();
      f["adapter_cosine"] = adapter_part.cosine();
    }
    f["nonfinite_elements"] = nonfinite;
    f["sampled"] = count < n;
    f["projections_checked"] = count;
    f["projections_total"] = n;
    if (count < n)
      f["sample_note"] = fmt::format("FP64 reference on {} evenly spaced projections of {} (budget {:.3g} FLOP)", count,
                                     n, options.max_reference_flops);
    const double tol = m.tolerance();
    f["tolerance"] = std::isfinite(tol) ? Json(tol) : Json(nullptr);
    result.fidelity = f;
    if (nonfinite > 0)
      result.failure = fmt::format("{} output elements are NaN/Inf or were never written", nonfinite);
    else if (target.rel_error() > tol)
      result.failure = fmt::format("incorrect: relative error {:.3e} above the method's tolerance {:.1e}",
                                   target.rel_error(), tol);
    return result;
  }

  Floor floor(const Problem& problem, const Method&) const override {
    const auto& p = static_cast<const AdapterProblem&>(problem);
    Floor f;
    const double distinct = static_cast<double>(p.groups.size());
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

  Json compression(const Problem& problem, const Method& method) const override {
    const auto& m = dynamic_cast<const AdapterProjectionMethod&>(method);
    if (!m.compresses_adapters()) return nullptr;
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
