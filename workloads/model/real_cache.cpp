#include "workloads/model/real_cache.hpp"

#include <cmath>
#include <fstream>
#include <map>
#include <mutex>
#include <stdexcept>

#include <fmt/format.h>

#include "workloads/model/gguf.hpp"
#include "workloads/model/tokenizer.hpp"

namespace lrb::model {

namespace {
std::vector<int> tokens_of(const LlamaWeights& w, const std::string& text_file) {
  if (std::filesystem::path(w.config.source).extension() != ".gguf")
    throw std::runtime_error(fmt::format("model '{}' has no tokenizer (a GGUF has one)", w.config.name));
  std::ifstream in(text_file, std::ios::binary);
  if (!in) throw std::runtime_error(fmt::format("cannot read the model's text '{}'", text_file));
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  return BpeTokenizer(GgufFile(w.config.source)).encode(text);
}
}  // namespace

std::shared_ptr<const RealCache> real_cache(const std::string& model_id, const std::string& text_file, int T, int Q,
                                            int N, int C) {
  static std::mutex mutex;
  // Kept while the run lasts (a few entries): the points of a sweep share the prefills.
  static std::map<std::string, std::shared_ptr<const RealCache>> made;
  const std::string key = fmt::format("{}|{}|{}|{}|{}|{}", model_id, text_file, T, Q, N, C);
  std::lock_guard<std::mutex> lock(mutex);
  if (auto it = made.find(key); it != made.end()) return it->second;
  if (made.size() >= 8) made.clear();
  auto rc = std::make_shared<RealCache>();
  rc->weights = load_model(model_id);
  rc->model_id = model_id;
  rc->text = text_file;
  rc->cache_tokens = T, rc->queries = Q, rc->decode_tokens = N, rc->calib_tokens = C;
  rc->ids = tokens_of(*rc->weights, text_file);
  const int follow = std::max(Q, N + 1), need = T + follow + C;
  if (static_cast<int>(rc->ids.size()) < need)
    throw std::runtime_error(fmt::format("'{}' has {} tokens; a cache of {}, {} following and {} calibration tokens "
                                         "need {}",
                                         text_file, rc->ids.size(), T, follow, C, need));
  const LlamaCpu cpu(rc->weights);
  // The cache and the tokens after it in one prefill, tracing the following tokens' queries.
  rc->cache = cpu.new_cache(T + follow);
  ForwardTrace trace;
  trace.first = T;
  trace.count = Q;
  (void)cpu.forward(std::vector<int>(rc->ids.begin(), rc->ids.begin() + T + follow), rc->cache, &trace);
  rc->queries_pre_rope = std::move(trace.queries);
  rc->cache.length = T;  // what follows T is recomputed by each decode
  rc->calib = cpu.new_cache(C);
  (void)cpu.forward(std::vector<int>(rc->ids.begin() + T + follow, rc->ids.begin() + need), rc->calib);
  made[key] = rc;
  return rc;
}

Json model_fidelity(const RealCache& rc, const float* ref_keys, const float* ref_values, const float* keys,
                    const float* values) {
  const LlamaConfig& c = rc.weights->config;
  const LlamaCpu cpu(rc.weights);
  const int T = rc.cache_tokens, N = rc.decode_tokens, W = c.kv_dim();
  auto cache_of = [&](const float* k, const float* v) {
    KvCache kv = cpu.new_cache(T + N);
    for (int l = 0; l < c.layers; ++l)
      for (int t = 0; t < T; ++t) {
        const std::size_t at = (static_cast<std::size_t>(l) * T + t) * W;
        kv.k[l].row(t) = Eigen::Map<const Eigen::RowVectorXf>(k + at, W);
        kv.v[l].row(t) = Eigen::Map<const Eigen::RowVectorXf>(v + at, W);
      }
    kv.length = T;
    return kv;
  };
  const std::vector<int> next(rc.ids.begin() + T, rc.ids.begin() + T + N);
  const std::vector<int> target(rc.ids.begin() + T + 1, rc.ids.begin() + T + N + 1);
  KvCache ref = cache_of(ref_keys, ref_values), got = cache_of(keys, values);
  const MatrixF a = cpu.forward(next, ref), b = cpu.forward(next, got);
  const NextTokenStats sa = next_token_stats(a, target), sb = next_token_stats(b, target);
  double kl = 0, nll_a = 0, nll_b = 0;
  int same = 0;
  for (int t = 0; t < N; ++t) {
    const double ma = a.row(t).maxCoeff(), mb = b.row(t).maxCoeff();
    double za = 0, zb = 0;
    for (Eigen::Index j = 0; j < a.cols(); ++j) za += std::exp(a(t, j) - ma), zb += std::exp(b(t, j) - mb);
    const double la = ma + std::log(za), lb = mb + std::log(zb);
    for (Eigen::Index j = 0; j < a.cols(); ++j) {
      const double lpa = a(t, j) - la;
      kl += std::exp(lpa) * (lpa - (b(t, j) - lb));
    }
    same += sa.top1[t] == sb.top1[t];
    nll_a -= sa.logprob[t];
    nll_b -= sb.logprob[t];
  }
  return {{"kl", std::max(0.0, kl / N)},
          {"top1_agreement", static_cast<double>(same) / N},
          {"ppl", std::exp(nll_b / N)},
          {"ppl_reference", std::exp(nll_a / N)},
          {"tokens", N},
          {"text", rc.text},
          {"model", rc.model_id},
          {"how", fmt::format("the {} tokens after a {}-token cache decoded (teacher-forced) over the restored cache vs "
                              "over the original fp16 cache",
                              N, T)}};
}

}  // namespace lrb::model
