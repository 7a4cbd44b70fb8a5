#include "workloads/adapter_projection/model_fidelity.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include <fmt/format.h>

#include "workloads/common/parallel.hpp"
#include "workloads/model/forward.hpp"
#include "workloads/model/llama.hpp"
#include "workloads/model/model_eval.hpp"

namespace lrb {

std::vector<int> evaluated_adapters(const AdapterProblem& p) {
  const int n = std::min(p.K, std::max(1, p.model_eval_adapters));
  std::vector<int> ids;
  for (int i = 0; i < n; ++i) ids.push_back(static_cast<int>(static_cast<long long>(i) * p.K / n));
  return ids;
}

std::shared_ptr<AdapterProblem> identity_probe(const AdapterProblem& p, const std::vector<int>& adapters) {
  int d_max = 0;
  for (const auto& proj : p.projections) d_max = std::max(d_max, proj.d_in);
  auto q = std::make_shared<AdapterProblem>();
  // Field by field, not a copy: the FP64 reference cache of the point is not the probe's.
  q->adapters_key = p.adapters_key;
  q->model = p.model, q->mode = p.mode, q->generator = p.generator, q->popularity = "identity probe";
  q->source = p.source, q->base_source = p.base_source, q->base_model = p.base_model;
  q->with_base = p.with_base;
  q->K = p.K, q->rank = p.rank, q->alpha = p.alpha, q->seed = p.seed;
  q->batch = static_cast<int>(adapters.size()) * d_max;
  std::vector<int> token_adapter;
  for (int k : adapters) token_adapter.insert(token_adapter.end(), d_max, k);
  q->layout = AdapterBatch::from_token_adapters(std::move(token_adapter));
  q->projections = p.projections;
  for (auto& proj : q->projections) {
    proj.X = MatrixH::Zero(q->batch, proj.d_in);
    for (std::size_t j = 0; j < adapters.size(); ++j)
      for (int i = 0; i < proj.d_in; ++i) proj.X(static_cast<Eigen::Index>(j) * d_max + i, i) = Half(1.0f);
  }
  return q;
}

namespace {

// The weights of the problem's linears in the model, one configuration at a time, on one modifiable copy.
class ModelUnderTest {
 public:
  ModelUnderTest(const AdapterProblem& p, std::shared_ptr<const model::LlamaWeights> base)
      : p_(p), w_(std::make_shared<model::LlamaWeights>(*base)), cpu_(w_) {}
  void set(std::size_t projection, const MatrixF& W) {
    const auto& proj = p_.projections[projection];
    MatrixF& target = w_->linear(proj.layer, proj.kind);
    if (target.rows() != W.rows() || target.cols() != W.cols())
      throw std::logic_error(fmt::format("adapter fidelity.model: {} is {} x {} in the model, {} x {} here", proj.name,
                                         target.rows(), target.cols(), W.rows(), W.cols()));
    target = W;
  }
  MatrixF logits(const std::vector<int>& ids) const {
    model::KvCache kv = cpu_.new_cache(static_cast<int>(ids.size()));
    return cpu_.forward(ids, kv);
  }

 private:
  const AdapterProblem& p_;
  std::shared_ptr<model::LlamaWeights> w_;
  model::LlamaCpu cpu_;
};

double number(const Json& j, const char* key) { return j.at(key).get<double>(); }

}  // namespace

Json adapter_model_fidelity(const AdapterProblem& p, const MethodProbe& probe) {
  const auto base = model::load_model(p.base_model);
  const std::vector<int> all = model::text_tokens(*base, p.model_text);
  if (static_cast<int>(all.size()) < p.model_eval_tokens)
    throw std::runtime_error(fmt::format("model_text '{}' has {} tokens; model_eval_tokens asks {}", p.model_text,
                                         all.size(), p.model_eval_tokens));
  const std::vector<int> ids(all.begin(), all.begin() + p.model_eval_tokens);
  const std::vector<int> targets(ids.begin() + 1, ids.end());
  const std::vector<int> adapters = evaluated_adapters(p);

  // The method's effective weights, from one run of it on the identity probe.
  const auto q = identity_probe(p, adapters);
  const std::vector<HostOutput> out = probe(*q);
  if (out.size() != p.projections.size())
    throw std::runtime_error(fmt::format("the identity probe returned {} outputs for {} projections", out.size(),
                                         p.projections.size()));
  const int d_max = q->batch / static_cast<int>(adapters.size());

  // The base each side stands on: the fp16 W the method was given (base+adapter), else the model's own.
  std::vector<MatrixF> base_w;
  for (const auto& proj : p.projections)
    base_w.push_back(p.with_base ? MatrixF(proj.W.cast<float>()) : base->linear(proj.layer, proj.kind));

  const MatrixF base_logits = [&] {
    ModelUnderTest m(p, base);
    for (std::size_t i = 0; i < p.projections.size(); ++i) m.set(i, base_w[i]);
    return m.logits(ids);
  }();

  // Adapter by adapter, each on its own core with its own copy of the model (the CPU pass is one thread).
  std::vector<Json> cmp(adapters.size()), effect(adapters.size());
  parallel_for(adapters.size(), [&](std::size_t j) {
    ModelUnderTest mj(p, base);
    const int k = adapters[j];
    for (std::size_t i = 0; i < p.projections.size(); ++i) {  // base + s B_k A_k, the product in FP64
      const AdapterFactors& f = p.projections[i].adapters[k];
      const MatrixD delta = f.scale * (f.B.cast<float>().cast<double>() * f.A.cast<float>().cast<double>());
      mj.set(i, base_w[i] + delta.cast<float>());
    }
    const MatrixF exact = mj.logits(ids);
    for (std::size_t i = 0; i < p.projections.size(); ++i) {
      const int d_in = p.projections[i].d_in;
      const MatrixF rows = out[i].values.block(static_cast<Eigen::Index>(j) * d_max, 0, d_in, out[i].values.cols());
      mj.set(i, p.with_base ? MatrixF(rows.transpose()) : MatrixF(base_w[i] + rows.transpose()));
    }
    cmp[j] = model::compare_logits(exact, mj.logits(ids), targets);
    effect[j] = model::compare_logits(exact, base_logits, targets);
  });

  Json per = Json::array();
  // Perplexities pooled over every (adapter, token): exp of the mean NLL, not a mean of perplexities, which
  // one adapter that wrecks the model would dominate.
  double kl = 0, top1 = 0, nll = 0, nll_ref = 0, effect_kl = 0, effect_top1 = 0;
  for (std::size_t j = 0; j < adapters.size(); ++j) {
    const Json &c = cmp[j], &e = effect[j];
    per.push_back({{"adapter", adapters[j]},
                   {"kl", c["kl"]},
                   {"top1_agreement", c["top1_agreement"]},
                   {"ppl", c["ppl"]},
                   {"ppl_reference", c["ppl_reference"]},
                   {"adapter_effect", {{"kl", e["kl"]}, {"top1_agreement", e["top1_agreement"]}, {"ppl_base", e["ppl"]}}}});
    kl += number(c, "kl"), top1 += number(c, "top1_agreement");
    nll += std::log(number(c, "ppl")), nll_ref += std::log(number(c, "ppl_reference"));
    effect_kl += number(e, "kl"), effect_top1 += number(e, "top1_agreement");
  }
  const double n = static_cast<double>(adapters.size());
  return {{"kl", kl / n},
          {"top1_agreement", top1 / n},
          {"ppl", std::exp(nll / n)},
          {"ppl_reference", std::exp(nll_ref / n)},
          {"tokens", p.model_eval_tokens},
          {"text", p.model_text},
          {"model", p.base_model},
          {"adapters", adapters},
          {"per_adapter", per},
          {"adapter_effect", {{"kl", effect_kl / n}, {"top1_agreement", effect_top1 / n}}},
          {"compared",
           fmt::format("{} with base + the exact LoRA (s B_k A_k in FP64 on {}) against base + the method's weight for "
                       "adapter k (its outputs on identity inputs), on the problem's {} projections; adapter k on "
                       "every token; kl and top1_agreement: means over the adapters listed, ppl: over all their tokens; "
                       "adapter_effect: the base alone against the exact LoRA",
                       p.base_model, p.with_base ? "the fp16 base the method was given" : "the model's base",
                       p.projections.size())}};
}

}  // namespace lrb
