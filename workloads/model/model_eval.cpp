#include "workloads/model/model_eval.hpp"

#include <cmath>
#include <filesystem>
#include <fstream>
#include <stdexcept>

#include <fmt/format.h>

#include "workloads/model/forward.hpp"
#include "workloads/model/gguf.hpp"
#include "workloads/model/tokenizer.hpp"

namespace lrb::model {

std::vector<int> text_tokens(const LlamaWeights& w, const std::string& text_file) {
  if (std::filesystem::path(w.config.source).extension() != ".gguf")
    throw std::runtime_error(fmt::format("model '{}' has no tokenizer (a GGUF has one)", w.config.name));
  std::ifstream in(text_file, std::ios::binary);
  if (!in) throw std::runtime_error(fmt::format("cannot read the model's text '{}'", text_file));
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  return BpeTokenizer(GgufFile(w.config.source)).encode(text);
}

Whitening whitening(const Eigen::MatrixXd& X) {
  Eigen::MatrixXd C = X.transpose() * X;
  C.diagonal().array() += 1e-6 * std::max(C.diagonal().mean(), 1e-30);
  const Eigen::LLT<Eigen::MatrixXd> llt(C);
  if (llt.info() != Eigen::Success) throw std::runtime_error("whitened SVD: calibration Gram matrix not positive definite");
  Whitening wh;
  wh.S = llt.matrixL();
  wh.S_inv = wh.S.triangularView<Eigen::Lower>().solve(Eigen::MatrixXd::Identity(wh.S.rows(), wh.S.cols()));
  return wh;
}

Json compare_logits(const MatrixF& a, const MatrixF& b, const std::vector<int>& targets) {
  const NextTokenStats sa = next_token_stats(a, targets), sb = next_token_stats(b, targets);
  double kl = 0, nll_a = 0, nll_b = 0;
  int same = 0;
  const Eigen::Index n = a.rows();
  for (Eigen::Index t = 0; t < n; ++t) {
    const double ma = a.row(t).maxCoeff(), mb = b.row(t).maxCoeff();
    double za = 0, zb = 0;
    for (Eigen::Index j = 0; j < a.cols(); ++j) za += std::exp(a(t, j) - ma), zb += std::exp(b(t, j) - mb);
    const double la = ma + std::log(za), lb = mb + std::log(zb);
    for (Eigen::Index j = 0; j < a.cols(); ++j) {
      const double lpa = a(t, j) - la;
      kl += std::exp(lpa) * (lpa - (b(t, j) - lb));
    }
    same += sa.top1[t] == sb.top1[t];
  }
  for (std::size_t t = 0; t < sa.logprob.size(); ++t) nll_a -= sa.logprob[t], nll_b -= sb.logprob[t];
  const double m = static_cast<double>(sa.logprob.size());
  return {{"kl", std::max(0.0, kl / n)},
          {"top1_agreement", static_cast<double>(same) / n},
          {"ppl", std::exp(nll_b / m)},
          {"ppl_reference", std::exp(nll_a / m)},
          {"tokens", n}};
}

}  // namespace lrb::model
