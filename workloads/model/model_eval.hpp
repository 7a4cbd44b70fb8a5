#pragma once
// What the real workloads share: a text file's tokens under a GGUF model's own tokenizer, the whitening of
// a linear's inputs (SVD-LLM), and the comparison of a modified model's logits with the unmodified model's.
#include <string>
#include <vector>

#include <Eigen/Dense>

#include "harness/json.hpp"
#include "harness/tensor.hpp"
#include "workloads/model/llama.hpp"

namespace lrb::model {

// The whole file, tokenized by the model's GGUF tokenizer (errors: no tokenizer, unreadable file).
std::vector<int> text_tokens(const LlamaWeights& w, const std::string& text_file);

// S (lower) with S S^T = X^T X + eps I, and S^-1: truncating W S minimizes the output error on X.
struct Whitening {
  Eigen::MatrixXd S, S_inv;
};
Whitening whitening(const Eigen::MatrixXd& X);

// Row by row, logits `test` against `reference`: mean KL(p_reference || p_test), top-1 agreement, and the
// perplexities of `targets` (targets[i] follows row i; there may be fewer targets than rows):
// {kl, top1_agreement, ppl, ppl_reference, tokens}.
Json compare_logits(const MatrixF& reference, const MatrixF& test, const std::vector<int>& targets);

}  // namespace lrb::model
