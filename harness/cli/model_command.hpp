#pragma once
// `lrbench model`: the real model end to end on real text: tokenize, prefill on the CPU (fp32, the
// reference) and on CUDA where there is a GPU, perplexity of each, and how the CUDA pass agrees with the CPU
// pass token by token (top-1, logits, KL), and its decode path with its prefill. One JSON record out.
#include <string>
#include <vector>

namespace lrb {

struct ModelArgs {
  std::string model = "smollm2-135m";
  std::string text = "/usr/share/common-licenses/GPL-3";
  int tokens = 1024;
  std::string backend = "auto";  // cpu | cuda | auto (both where a GPU is present)
  std::string out;               // JSON record (optional)
  // Optional: the same text through the model with these linears replaced by truncated SVDs (CPU), once per
  // (SVD kind, parameter ratio or energy): a perplexity against parameter ratio curve from one load.
  std::vector<std::string> svd_linears;
  std::vector<double> svd_param_ratio, svd_energy;
  std::vector<std::string> svd = {"plain"};
  int calibration_tokens = 256;
};
int model_command(const ModelArgs& args);

}  // namespace lrb
