#pragma once
// A real linear of the real model (the lowrank_linear `model` generator): its weight, its real inputs from a
// prefill of real text, its SVD (plain, or activation-aware: of W S with S S^T = X_c^T X_c from calibration
// activations, as SVD-LLM does), and the model-level fidelity of replacing it by a rank-r version.
#include <memory>
#include <string>
#include <vector>

#include "harness/json.hpp"
#include "harness/tensor.hpp"
#include "workloads/model/forward.hpp"
#include "workloads/model/llama.hpp"

namespace lrb::model {

struct RealLinear {
  std::shared_ptr<const LlamaWeights> weights;
  std::string model_id, text, projection, svd;  // svd: plain | whitened
  int layer = 0, eval_tokens = 0;
  MatrixF X;                 // [tokens x d_in]: the linear's inputs at the text's first tokens
  Eigen::MatrixXd U, V;      // of W (plain) or of W S (whitened)
  std::vector<double> s;     // singular values, descending
  Eigen::MatrixXd S_inv;     // whitened: S^-1 [d_in x d_in]; empty for plain
  std::vector<int> eval_ids;  // the text's first eval_tokens tokens
  std::shared_ptr<const MatrixF> reference_logits;  // the unmodified model on eval_ids (shared across points)
  // W_r = U_r diag(s_r) V_r^T (S^-1): the factors US [d_out x r], Vt [r x d_in].
  void factors(int rank, MatrixD& US, MatrixD& Vt) const;
};

std::shared_ptr<const RealLinear> real_linear(const std::string& model_id, const std::string& text_file, int layer,
                                              const std::string& projection, const std::string& svd, int tokens,
                                              int calibration_tokens, int eval_tokens);

// The model with this linear replaced by W_r = US Vt, on the text's first eval_tokens tokens, against the
// unmodified model: {kl, top1_agreement, ppl, ppl_reference, tokens, text, replaced}.
Json linear_fidelity(const RealLinear& rl, const MatrixF& W_r);
// The same with several linears of rl's layer replaced at once ({projection, its replacement}): a
// low-rank FFN's gate, up and down.
Json layer_fidelity(const RealLinear& rl, const std::vector<std::pair<std::string, MatrixF>>& replacements,
                    const std::string& what);

}  // namespace lrb::model
