#include "workloads/model/real_linear.hpp"

#include <cmath>
#include <fstream>
#include <map>
#include <mutex>
#include <stdexcept>

#include <Eigen/SVD>
#include <fmt/format.h>

#include "workloads/common/last_value.hpp"
#include "workloads/model/model_eval.hpp"

namespace lrb::model {


void RealLinear::factors(int rank, MatrixD& US, MatrixD& Vt) const {
  const int r = std::min<int>(rank, static_cast<int>(s.size()));
  US = U.leftCols(r) * Eigen::Map<const Eigen::VectorXd>(s.data(), r).asDiagonal();
  Vt = V.leftCols(r).transpose();
  if (S_inv.size() > 0) Vt = Vt * S_inv;
}

std::shared_ptr<const RealLinear> real_linear(const std::string& model_id, const std::string& text_file, int layer,
                                              const std::string& projection, const std::string& svd, int tokens,
                                              int calibration_tokens, int eval_tokens) {
  static std::mutex mutex;
  // Kept while the run lasts (a few entries): the points of a sweep share the prefills.
  static std::map<std::string, std::shared_ptr<const RealLinear>> made;
  const std::string key =
      fmt::format("{}|{}|{}|{}|{}|{}|{}|{}", model_id, text_file, layer, projection, svd, tokens, calibration_tokens,
                  eval_tokens);
  std::lock_guard<std::mutex> lock(mutex);
  if (auto it = made.find(key); it != made.end()) return it->second;
  if (made.size() >= 8) made.clear();
  if (svd != "plain" && svd != "whitened")
    throw std::invalid_argument(fmt::format("svd '{}': plain or whitened", svd));
  auto rl = std::make_shared<RealLinear>();
  rl->weights = load_model(model_id);
  rl->model_id = model_id, rl->text = text_file, rl->projection = projection, rl->svd = svd;
  rl->layer = layer, rl->eval_tokens = eval_tokens;
  const MatrixF& W = rl->weights->linear(layer, projection);  // errors name a bad layer or projection
  const std::vector<int> ids = text_tokens(*rl->weights, text_file);
  const int span = std::max(tokens, eval_tokens) + calibration_tokens;
  if (static_cast<int>(ids.size()) < span)
    throw std::runtime_error(fmt::format("'{}' has {} tokens; {} asked", text_file, ids.size(), span));
  const LlamaCpu cpu(rl->weights);
  // Every layer's linear inputs over a prefill of ids[first, first + count), kept while the sweep's points
  // share it: one prefill serves every (layer, projection, svd) of a sweep, not one prefill each.
  static LastValue<ForwardTrace> head_trace, calib_trace;
  auto inputs = [&](LastValue<ForwardTrace>& cache, int first, int count) {
    const auto trace = cache.get(fmt::format("{}|{}|{}|{}", model_id, text_file, first, count), [&] {
      ForwardTrace t;
      t.linear_layer = ForwardTrace::kAllLayers;
      KvCache kv = cpu.new_cache(count);
      (void)cpu.forward(std::vector<int>(ids.begin() + first, ids.begin() + first + count), kv, &t);
      return t;
    });
    return MatrixF(trace->input_of(layer, projection));
  };
  rl->X = inputs(head_trace, 0, tokens);
  const Eigen::MatrixXd Wd = W.cast<double>();
  Eigen::MatrixXd A = Wd;
  if (svd == "whitened") {
    // Calibration from the span after the evaluated tokens: S = chol(X_c^T X_c + eps I), W S is what's truncated.
    const Whitening wh =
        whitening(inputs(calib_trace, std::max(tokens, eval_tokens), calibration_tokens).cast<double>());
    A = Wd * wh.S;
    rl->S_inv = wh.S_inv;
  }
  const Eigen::BDCSVD<Eigen::MatrixXd> dec(A, Eigen::ComputeThinU | Eigen::ComputeThinV);
  rl->U = dec.matrixU();
  rl->V = dec.matrixV();
  rl->s.assign(dec.singularValues().data(), dec.singularValues().data() + dec.singularValues().size());
  rl->eval_ids.assign(ids.begin(), ids.begin() + eval_tokens);
  static LastValue<MatrixF> reference;
  rl->reference_logits = reference.get(fmt::format("{}|{}|{}", model_id, text_file, eval_tokens), [&] {
    KvCache kv = cpu.new_cache(eval_tokens);
    return cpu.forward(rl->eval_ids, kv);
  });
  made[key] = rl;
  return rl;
}

Json layer_fidelity(const RealLinear& rl, const std::vector<std::pair<std::string, MatrixF>>& replacements,
                    const std::string& what) {
  auto modified = std::make_shared<LlamaWeights>(*rl.weights);
  for (const auto& [projection, W_r] : replacements) {
    MatrixF& target = modified->linear(rl.layer, projection);
    if (target.rows() != W_r.rows() || target.cols() != W_r.cols())
      throw std::logic_error("layer_fidelity: replacement of another shape");
    target = W_r;
  }
  const LlamaCpu cpu(modified);
  KvCache kv = cpu.new_cache(rl.eval_tokens);
  const MatrixF logits = cpu.forward(rl.eval_ids, kv);
  Json j = compare_logits(*rl.reference_logits, logits, std::vector<int>(rl.eval_ids.begin() + 1, rl.eval_ids.end()));
  j["text"] = rl.text;
  j["model"] = rl.model_id;
  j["replaced"] = what;
  return j;
}

Json linear_fidelity(const RealLinear& rl, const MatrixF& W_r) {
  return layer_fidelity(rl, {{rl.projection, W_r}},
                        fmt::format("layer {} {} by the layer the method computes with (fp16 W for a full-layer "
                                    "method, else W_r = US Vt of the record's factors; the kernel's own error is the "
                                    "tensor-level fidelity)",
                                    rl.layer, rl.projection));
}

}  // namespace lrb::model
