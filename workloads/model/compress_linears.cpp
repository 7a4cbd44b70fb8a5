#include "workloads/model/compress_linears.hpp"

#include <cmath>
#include <stdexcept>

#include <Eigen/SVD>
#include <fmt/format.h>

#include "workloads/common/parallel.hpp"
#include "workloads/model/forward.hpp"
#include "workloads/model/model_eval.hpp"

namespace lrb::model {

CompressedModel compress_linears(const LlamaWeights& w, const LinearCompression& how,
                                 const std::vector<int>& calibration) {
  if ((how.param_ratio > 0) == (how.energy > 0))
    throw std::invalid_argument("SVD compression: give a parameter ratio or an energy, one of them");
  if (how.svd != "plain" && how.svd != "whitened")
    throw std::invalid_argument(fmt::format("svd '{}': plain or whitened", how.svd));
  auto out = std::make_shared<LlamaWeights>(w);
  const auto original = std::make_shared<const LlamaWeights>(w);
  const LlamaCpu cpu(original);
  CompressedModel cm;
  Json ranks = Json::object();
  ForwardTrace trace;
  if (how.svd == "whitened") {  // every layer's linear inputs on the unmodified model, in one pass
    trace.linear_layer = ForwardTrace::kAllLayers;
    KvCache kv = cpu.new_cache(static_cast<int>(calibration.size()));
    (void)cpu.forward(calibration, kv, &trace);
  }
  // Every (layer, linear) on its own core: each writes only its own weight and rank slot.
  const std::size_t per_layer = how.linears.size();
  std::vector<int> rank_of(static_cast<std::size_t>(w.config.layers) * per_layer);
  for (const auto& name : how.linears) (void)w.linear(0, name);  // a bad name fails here, before any thread
  parallel_for(rank_of.size(), [&](std::size_t i) {
    const int l = static_cast<int>(i / per_layer);
    const std::string& name = how.linears[i % per_layer];
    const MatrixF& W = w.linear(l, name);
    Eigen::MatrixXd A = W.cast<double>(), S_inv;
    if (how.svd == "whitened") {
      const Whitening wh = whitening(trace.input_of(l, name).cast<double>());
      A = A * wh.S;
      S_inv = wh.S_inv;
    }
    const Eigen::BDCSVD<Eigen::MatrixXd> dec(A, Eigen::ComputeThinU | Eigen::ComputeThinV);
    const Eigen::VectorXd s = dec.singularValues();
    const int full = static_cast<int>(s.size());
    int r = full;
    if (how.param_ratio > 0) {
      const double per_rank = static_cast<double>(W.rows() + W.cols());
      r = std::clamp(static_cast<int>(how.param_ratio * static_cast<double>(W.rows()) * W.cols() / per_rank), 1, full);
    } else {
      const double total = s.squaredNorm();
      double kept = 0;
      for (r = 0; r < full && kept < how.energy * total;) kept += s[r] * s[r], ++r;
      r = std::max(r, 1);
    }
    Eigen::MatrixXd Wr = dec.matrixU().leftCols(r) * s.head(r).asDiagonal() * dec.matrixV().leftCols(r).transpose();
    if (S_inv.size() > 0) Wr = Wr * S_inv;
    out->linear(l, name) = Wr.cast<float>();
    rank_of[i] = r;
  });
  for (std::size_t i = 0; i < rank_of.size(); ++i) {
    const std::string& name = how.linears[i % per_layer];
    const MatrixF& W = w.linear(static_cast<int>(i / per_layer), name);
    cm.params_before += static_cast<double>(W.rows()) * W.cols();
    cm.params_after +=
        std::min(static_cast<double>(rank_of[i]) * (W.rows() + W.cols()), static_cast<double>(W.rows()) * W.cols());
    ranks[name].push_back(rank_of[i]);
  }
  cm.weights = out;
  cm.summary = {{"linears", how.linears},
                {"svd", how.svd},
                {"param_ratio_asked", how.param_ratio},
                {"energy", how.energy},
                {"calibration_tokens", how.svd == "whitened" ? calibration.size() : 0},
                {"ranks_per_layer", ranks},
                {"params_replaced", cm.params_before},
                {"params_kept", cm.params_after},
                {"param_ratio", cm.params_after / cm.params_before}};
  return cm;
}

}  // namespace lrb::model
