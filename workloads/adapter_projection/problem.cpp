// adapter_projection problems: token adapters by popularity law, the batch layout, and the tensors
// (base weights, activations, adapters) from the generator, cached across consecutive sweep points.
#include <algorithm>
#include <cmath>
#include <stdexcept>

#include <fmt/format.h>

#include "harness/memory_limits.hpp"
#include "harness/registry.hpp"
#include "workloads/adapter_projection/problem.hpp"
#include "workloads/model/llama.hpp"
#include "workloads/common/last_value.hpp"
#include "workloads/common/parallel.hpp"
#include "workloads/common/rng.hpp"

namespace lrb {

namespace {

std::vector<int> draw_token_adapters(const AdapterProblemSpec& s) {
  Rng rng(stream_seed(s.seed, {kStreamTokens}));
  std::vector<int> ids(s.batch, 0);
  if (s.popularity == "identical") {
  } else if (s.popularity == "uniform") {
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
  // round(no_adapter x batch) tokens, a seeded random subset from a stream of their own (a share of 0 leaves the
  // popularity draw exactly as it was), get no adapter.
  const int none = static_cast<int>(std::lround(s.no_adapter * s.batch));
  if (none > 0) {
    Rng pick(stream_seed(s.seed, {kStreamNoAdapter}));
    std::vector<int> perm(static_cast<std::size_t>(s.batch));
    for (int t = 0; t < s.batch; ++t) perm[t] = t;
    for (int i = 0; i < none; ++i) {
      std::swap(perm[i], perm[i + pick.below(s.batch - i)]);
      ids[perm[i]] = kNoAdapter;
    }
  }
  return ids;
}

// One (layer, projection) of the problem.
struct Slot {
  int layer;
  const ProjectionShape* shape;
  std::uint64_t key;
  int d_in, d_out;
};

std::vector<Slot> slots_of(const AdapterProblemSpec& s, const ModelShape& model, int layers) {
  std::vector<Slot> slots;
  for (int l = 0; l < layers; ++l)
    for (const auto& name : s.projections) {
      const ProjectionShape* shape = model.projection(name);
      if (!shape) throw std::invalid_argument(fmt::format("model {} has no projection '{}'", s.model, name));
      // Stable key: (layer, projection kind) so a projection's data does not depend on which others exist.
      const std::uint64_t key =
          (static_cast<std::uint64_t>(l) << 8) | static_cast<std::uint64_t>(shape - model.projections.data());
      slots.push_back({l, shape, key, s.d_in > 0 ? s.d_in : shape->d_in, s.d_out > 0 ? s.d_out : shape->d_out});
    }
  return slots;
}

// Refuses before allocating what the host cannot hold (a backstop: the runner skips such points first, from
// the family's estimate_memory).
void check_host_memory(const AdapterProblemSpec& s, const std::vector<Slot>& slots, bool with_base) {
  double bytes = 0;
  for (const auto& slot : slots) {
    const double din = slot.d_in, dout = slot.d_out;
    bytes += 2.0 * ((with_base ? din * dout : 0) + s.batch * din + double(s.K) * s.rank * (din + dout));
  }
  // Twice: the problem holds a copy of the generation caches' tensors.
  std::string source;
  const double available = static_cast<double>(host_memory_limit(&source));
  if (available > 0 && 2 * bytes > 0.8 * available)
    throw std::runtime_error(fmt::format("problem needs 2 x {:.1f} GiB of host memory (problem + generation cache), more "
                                         "than 80% of {:.1f} GiB ({})",
                                         bytes / (1 << 30), available / (1 << 30), source));
}

// The tensors of every slot. Each depends only on its own coordinates, so consecutive sweep points reuse
// what did not change: base weights (not on K, rank, batch), activations (not on K, rank), adapters (not
// on batch).
struct Tensors {
  std::shared_ptr<const std::vector<MatrixH>> weights, activations;
  std::shared_ptr<const std::vector<std::vector<AdapterFactors>>> adapters;
};

Tensors generate_tensors(const AdapterProblemSpec& s, const std::vector<Slot>& slots, int layers, bool with_base,
                         const AdapterGenerator& generate, const Json& gp, std::string* adapters_key) {
  const std::string shape_key = fmt::format("{}|{}|{}|{}|{}|{}", s.model, s.seed, layers, fmt::join(s.projections, ","),
                                            s.d_in, s.d_out);
  static LastValue<std::vector<MatrixH>> base_cache, x_cache;
  static LastValue<std::vector<std::vector<AdapterFactors>>> adapter_cache;
  Tensors t;
  if (with_base)
    t.weights = base_cache.get(shape_key, [&] {
      std::vector<MatrixH> w(slots.size());
      parallel_for(slots.size(), [&](std::size_t i) {
        Rng rw(stream_seed(s.seed, {kStreamBaseWeight, slots[i].key}));
        w[i].resize(slots[i].d_out, slots[i].d_in);
        const double sw = 1.0 / std::sqrt(static_cast<double>(slots[i].d_in));
        for (Eigen::Index k = 0; k < w[i].size(); ++k) w[i].data()[k] = to_half(sw * rw.normal());
      });
      return w;
    });
  t.activations = x_cache.get(fmt::format("{}|{}", shape_key, s.batch), [&] {
    std::vector<MatrixH> x(slots.size());
    parallel_for(slots.size(), [&](std::size_t i) {
      Rng rx(stream_seed(s.seed, {kStreamActivations, slots[i].key}));
      x[i].resize(s.batch, slots[i].d_in);
      for (Eigen::Index k = 0; k < x[i].size(); ++k) x[i].data()[k] = to_half(rx.normal());
    });
    return x;
  });
  *adapters_key =
      fmt::format("{}|{}|{}|{}|{}|{}|{}", shape_key, s.K, s.rank, s.alpha, s.adapter_norm, s.generator, gp.dump());
  t.adapters = adapter_cache.get(*adapters_key, [&] {
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
      req.model = s.model;
      req.projection = slots[i].shape->name;
      req.params = Params(gp);
      a[i] = generate(req);
    });
    return a;
  });
  return t;
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
  p->layout = AdapterBatch::from_token_adapters(draw_token_adapters(s));

  const std::vector<Slot> slots = slots_of(s, *model, layers);
  check_host_memory(s, slots, p->with_base);
  const Json gp = gen->params.empty() ? Json::object() : with_defaults(gen->params, s.generator_params);
  const Tensors t = generate_tensors(s, slots, layers, p->with_base, generate, gp, &p->adapters_key);

  if (gp.contains("peft_dir")) p->source = gp["peft_dir"].get<std::string>();
  std::shared_ptr<const model::LlamaWeights> real_base;
  if (s.base_weights != "generated") p->base_model = s.base_weights;
  if (p->with_base && s.base_weights != "generated") {
    real_base = model::load_model(s.base_weights);
    p->base_source = fmt::format("the real base weights of {} ({})", s.base_weights, real_base->config.source);
  }
  p->projections.resize(slots.size());
  parallel_for(slots.size(), [&](std::size_t i) {
    ProjectionProblem& proj = p->projections[i];
    proj.name = fmt::format("L{}.{}", slots[i].layer, slots[i].shape->name);
    proj.kind = slots[i].shape->name;
    proj.layer = slots[i].layer;
    proj.d_in = slots[i].d_in;
    proj.d_out = slots[i].d_out;
    if (t.weights) proj.W = (*t.weights)[i];
    if (real_base) {
      const MatrixF& W = real_base->linear(slots[i].layer, slots[i].shape->name);
      if (W.rows() != proj.d_out || W.cols() != proj.d_in)
        throw std::invalid_argument(fmt::format("base_weights {}: {} of layer {} is {} x {}, the problem's is {} x {}",
                                                s.base_weights, slots[i].shape->name, slots[i].layer, W.rows(), W.cols(),
                                                proj.d_out, proj.d_in));
      proj.W = W.cast<Half>();
    }
    proj.X = (*t.activations)[i];
    proj.adapters = (*t.adapters)[i];
  });
  return p;
}

StackedAdapters ProjectionProblem::stacked() const {
  StackedAdapters s;
  s.K = static_cast<int>(adapters.size());
  s.rank = s.K > 0 ? static_cast<int>(adapters[0].A.rows()) : 0;
  s.d_in = d_in;
  s.d_out = d_out;
  for (const auto& f : adapters) {
    if (f.A.rows() != s.rank) throw std::invalid_argument("stacked adapters need one rank (adapter ranks differ)");
    s.A.insert(s.A.end(), f.A.data(), f.A.data() + f.A.size());
    s.B.insert(s.B.end(), f.B.data(), f.B.data() + f.B.size());
    s.scale.push_back(f.scale);
  }
  return s;
}

}  // namespace lrb
