#include "harness/cli/model_command.hpp"

#include <cerrno>
#include <chrono>
#include <cstring>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iostream>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "harness/build_info.hpp"
#include "harness/env.hpp"
#include "harness/json.hpp"
#include "workloads/model/compress_linears.hpp"
#include "workloads/model/forward.hpp"
#include "workloads/model/llama.hpp"
#include "workloads/model/model_eval.hpp"

namespace lrb {
namespace {


double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

Json perplexity_of(const MatrixF& logits, const std::vector<int>& ids) {
  const auto s = model::next_token_stats(logits, std::vector<int>(ids.begin() + 1, ids.end()));
  double nll = 0;
  for (double lp : s.logprob) nll -= lp;
  nll /= static_cast<double>(s.logprob.size());
  return {{"ppl", std::exp(nll)}, {"nll", nll}, {"predictions", s.logprob.size()}};
}

// How logits `b` agree with the reference `a` over every position: model::compare_logits' KL and top-1,
// plus near-ties (rows whose two argmaxes' reference logits differ by < 0.01) and the max |difference|.
Json agreement(const MatrixF& a, const MatrixF& b) {
  const Json c = model::compare_logits(a, b, {});
  int same = 0, ties = 0;
  double max_diff = 0;
  for (Eigen::Index t = 0; t < a.rows(); ++t) {
    Eigen::Index ia, ib;
    a.row(t).maxCoeff(&ia);
    b.row(t).maxCoeff(&ib);
    if (ia == ib) ++same;
    else if (std::abs(a(t, ia) - a(t, ib)) < 0.01) ++ties;
    max_diff = std::max(max_diff, static_cast<double>((a.row(t) - b.row(t)).cwiseAbs().maxCoeff()));
  }
  const double n = static_cast<double>(a.rows());
  return {{"positions", a.rows()},  {"top1_agreement", c["top1_agreement"]},
          {"top1_agreement_near_ties_aside", (same + ties) / n}, {"near_ties", ties},
          {"max_abs_logit_diff", max_diff}, {"mean_kl", c["kl"]}};
}

}  // namespace

int model_command(const ModelArgs& a) {
  const auto t0 = std::chrono::steady_clock::now();
  const auto weights = model::load_model(a.model);
  const auto& c = weights->config;
  const std::vector<int> all = model::text_tokens(*weights, a.text);  // once: the calibration span comes from it too
  auto ids = all;
  if (static_cast<int>(ids.size()) < a.tokens || a.tokens < 2)
    throw std::runtime_error(fmt::format("--text '{}' has {} tokens; --tokens {} asked", a.text, ids.size(), a.tokens));
  ids.resize(static_cast<std::size_t>(a.tokens));
  std::cerr << fmt::format("lrbench model: {} ({} layers, dim {}), {} tokens of {}, loaded in {:.1f} s\n", c.name,
                           c.layers, c.dim, a.tokens, a.text, seconds_since(t0));
  Json rec = {{"kind", "model_check"},
              {"model", {{"id", a.model}, {"file", c.source}, {"layers", c.layers}, {"dim", c.dim}, {"heads", c.heads},
                         {"kv_heads", c.kv_heads}, {"vocab", c.vocab}, {"rope_theta", c.rope_theta}}},
              {"text", {{"file", a.text}, {"bytes", std::filesystem::file_size(a.text)}, {"tokens", a.tokens}}},
              {"git_sha", build_info::git_sha()},
              {"git_dirty", build_info::git_dirty()},
              {"time_utc", utc_timestamp()}};
  MatrixF cpu_logits;
  if (a.backend != "cuda") {
    const auto t = std::chrono::steady_clock::now();
    model::LlamaCpu cpu(weights);
    auto cache = cpu.new_cache(a.tokens);
    cpu_logits = cpu.forward(ids, cache);
    rec["cpu"] = perplexity_of(cpu_logits, ids);
    rec["cpu"]["prefill_s"] = seconds_since(t);
    rec["cpu"]["precision"] = "fp32 weights (dequantized), activations and accumulation";
    std::cerr << fmt::format("  cpu: ppl {:.4f} ({:.1f} s)\n", rec["cpu"]["ppl"].get<double>(), seconds_since(t));
  }
  if (a.backend != "cpu") {
    auto gpu = model::make_cuda_runner(weights, a.tokens);
    if (!gpu) {
      if (a.backend == "cuda") throw std::runtime_error("--backend cuda: no CUDA device (or a CPU-only build)");
      rec["cuda"] = {{"skipped", "no CUDA device or a CPU-only build"}};
    } else {
      rec["environment"] = capture_environment(Backend::cuda);
      auto t = std::chrono::steady_clock::now();
      const MatrixF logits = gpu->forward(ids);
      const double prefill_s = seconds_since(t);
      rec["cuda"] = perplexity_of(logits, ids);
      rec["cuda"]["prefill_s"] = prefill_s;
      rec["cuda"]["precision"] = "fp16 weights and GEMM inputs, fp32 activations, KV cache and accumulation";
      // Its decode path: the last 16 positions one token at a time after a prefill of the rest.
      const int tail = std::min(16, a.tokens - 1);
      gpu->reset();
      (void)gpu->forward(std::vector<int>(ids.begin(), ids.end() - tail));
      double decode_diff = 0;
      for (int i = a.tokens - tail; i < a.tokens; ++i) {
        const MatrixF one = gpu->forward({ids[i]});
        decode_diff = std::max(decode_diff, static_cast<double>((one.row(0) - logits.row(i)).cwiseAbs().maxCoeff()));
      }
      rec["cuda"]["decode_vs_prefill_max_abs_logit_diff"] = decode_diff;
      rec["cuda"]["decode_positions"] = tail;
      if (cpu_logits.size() > 0) rec["cuda_vs_cpu"] = agreement(cpu_logits, logits);
      std::cerr << fmt::format("  cuda: ppl {:.4f} (prefill {:.2f} s)\n", rec["cuda"]["ppl"].get<double>(), prefill_s);
    }
  }
  if (!a.svd_linears.empty()) {
    if (cpu_logits.size() == 0) throw std::runtime_error("--svd-linears needs the CPU pass (not --backend cuda)");
    if (a.svd_param_ratio.empty() == a.svd_energy.empty())
      throw std::runtime_error("--svd-linears needs --svd-param-ratio or --svd-energy (one of them)");
    if (static_cast<int>(all.size()) < a.tokens + a.calibration_tokens)
      throw std::runtime_error(fmt::format("--text has {} tokens; {} evaluated + {} calibration asked", all.size(),
                                           a.tokens, a.calibration_tokens));
    const std::vector<int> calib(all.begin() + a.tokens, all.begin() + a.tokens + a.calibration_tokens);
    const bool by_ratio = !a.svd_param_ratio.empty();
    rec["svd_compressed"] = Json::array();
    for (const auto& kind : a.svd)
      for (double level : by_ratio ? a.svd_param_ratio : a.svd_energy) {
        const auto t = std::chrono::steady_clock::now();
        model::LinearCompression how;
        how.linears = a.svd_linears;
        (by_ratio ? how.param_ratio : how.energy) = level;
        how.svd = kind;
        const model::CompressedModel cm = model::compress_linears(*weights, how, calib);
        model::LlamaCpu cpu(cm.weights);
        auto cache = cpu.new_cache(a.tokens);
        const MatrixF logits = cpu.forward(ids, cache);
        Json m = agreement(cpu_logits, logits);
        m["ppl"] = perplexity_of(logits, ids)["ppl"];
        m["ppl_reference"] = rec["cpu"]["ppl"];
        Json entry = cm.summary;
        entry["fidelity"] = m;
        entry["seconds"] = seconds_since(t);
        rec["svd_compressed"].push_back(entry);
        std::cerr << fmt::format("  svd ({} of {}, {} {}): param ratio {:.3f}, ppl {:.4f} (reference {:.4f}), top-1 "
                                 "{:.3f}, KL {:.3g} ({:.1f} s)\n",
                                 how.svd, fmt::join(how.linears, ","), by_ratio ? "ratio" : "energy", level,
                                 cm.params_after / cm.params_before, m["ppl"].get<double>(),
                                 m["ppl_reference"].get<double>(), m["top1_agreement"].get<double>(),
                                 m["mean_kl"].get<double>(), seconds_since(t));
      }
  }
  if (!rec.contains("environment")) rec["environment"] = capture_environment(Backend::cpu);
  std::cout << rec.dump(2) << "\n";
  if (!a.out.empty()) {
    const std::string tmp = a.out + ".tmp";
    {
      std::ofstream out(tmp);
      out << rec.dump(2) << "\n";
      if (!out) {
        std::filesystem::remove(tmp);
        throw std::runtime_error(fmt::format("cannot write '{}': {}", a.out, std::strerror(errno)));
      }
    }
    std::filesystem::rename(tmp, a.out);
  }
  return 0;
}

}  // namespace lrb
