#pragma once
// Compress-then-Serve (Brüel-Gabrielsson et al., ICML 2025, arXiv 2407.00066): per layer-projection, shared
// bases U [d_out x R] and V [d_in x R] for the whole adapter population and a small core per adapter, so that
// dW_k = s_k B_k A_k ~ U S_k V^T.
//   JD-Full: U, V orthonormal, S_k a full R x R matrix (S_k = U^T dW_k V, optimal for given bases);
//   JD-Diag: U, V unconstrained (unit columns after rescaling), S_k = diag(sigma_k).
// Fitted by the paper's alternating (joint-diagonalization) scheme on the population, from the small factors
// only: every product goes through A_k V (r x R) and B_k^T U (r x R); no dW_k (d_out x d_in) is formed.
//   Full: alternating subspace iterations, U <- orth(sum_k dW_k V V^T dW_k^T U), V <- orth(sum_k dW_k^T U U^T
//     dW_k V), from the top-R output- and input-side subspaces of the population (methods/s2lc's basis);
//     the captured energy sum_k ||U^T dW_k V||^2 never decreases.
//   Diag: alternating least squares from the Full fit's bases: sigma_k given U, V (an R x R normal system,
//     (U^T U) o (V^T V)), then U given V and every sigma_k, then V; the residual never increases.
// Untimed (prepare); its wall time is recorded (metrics.encode_s) and the fit is shared by every prepared copy
// and point with the same adapters.
#include <memory>
#include <string>
#include <vector>

#include "harness/json.hpp"
#include "harness/method.hpp"
#include "workloads/adapter_projection/problem.hpp"

namespace lrb::jd {

enum class Core { full, diag };
const char* to_string(Core core);

struct Options {
  int R = 32;              // shared rank
  int iterations = 50;     // alternations at most
  double tolerance = 1e-9; // relative change of the objective that stops them
};

struct ProjectionFit {
  int d_in = 0, d_out = 0, R = 0;
  MatrixH U, V;                   // d_out x R, d_in x R (stored fp16)
  std::vector<MatrixH> cores;     // Full: K matrices R x R (fp16)
  MatrixH sigma;                  // Diag: K x R (fp16)
  std::vector<double> rel_error;  // per adapter: ||dW_k - U S_k V^T||_F / ||dW_k||_F with the stored fp16 values
  std::vector<double> objective;  // per alternation: the residual sum_k ||dW_k - U S_k V^T||^2 / sum_k ||dW_k||^2
  int iterations = 0;
};

struct Fit {
  Core core = Core::full;
  int R = 0;
  std::vector<ProjectionFit> projections;
  Json stats;           // per-adapter error summary, iterations, residual
  double encode_s = 0;  // wall time of the fit
};

// Fits every projection of the problem (in parallel over projections). Throws if R > min(d_in, d_out).
Fit fit(const AdapterProblem& problem, Core core, const Options& options);
// The same, made once per (adapters, core, options) and shared (problem.adapters_key); `computed` says whether
// this call fitted.
std::shared_ptr<const Fit> cached_fit(const AdapterProblem& problem, Core core, const Options& options,
                                      bool* computed = nullptr);

// One projection (tests): the adapters' factors in, the fitted bases and cores out.
ProjectionFit fit_projection(const std::vector<AdapterFactors>& adapters, int d_in, int d_out, Core core,
                             const Options& options);

// Stored bytes by component: shared_bases (U and V, fp16) and cores (fp16: R x R or R per adapter).
Footprint stored_bytes(const Fit& fit);

}  // namespace lrb::jd
