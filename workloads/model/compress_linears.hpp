#pragma once
// The whole model with a chosen set of its linears replaced by truncated SVDs (plain, or activation-aware:
// of W S with S S^T = X_c^T X_c of the linear's calibration inputs, as SVD-LLM does), at a parameter ratio or
// an energy: the model-level cost of an SVD-compressed model against its parameter ratio (lrbench model).
#include <memory>
#include <string>
#include <vector>

#include "harness/json.hpp"
#include "workloads/model/llama.hpp"

namespace lrb::model {

struct LinearCompression {
  std::vector<std::string> linears;  // of q, k, v, o, gate, up, down; in every layer
  double param_ratio = 0;            // r = the rank keeping this share of the layer's parameters:
                                     //   r (d_out + d_in) = ratio x d_out d_in; or
  double energy = 0;                 // the smallest r keeping this share of sum s^2 (of W, or of W S)
  std::string svd = "plain";         // plain | whitened
};

struct CompressedModel {
  std::shared_ptr<const LlamaWeights> weights;
  double params_before = 0, params_after = 0;  // of the replaced linears: d_out d_in vs r (d_out + d_in)
  Json summary;
};

// calibration: token ids whose prefill gives each layer's linear inputs (whitened only).
CompressedModel compress_linears(const LlamaWeights& w, const LinearCompression& how,
                                 const std::vector<int>& calibration);

}  // namespace lrb::model
