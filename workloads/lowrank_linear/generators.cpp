// Weight generators for lowrank_linear. `spectral`: W = Q_out diag(s) Q_in^T with exact singular values
// s_i = c (i+1)^-decay and random orthogonal Q (two layers of random orthogonal blocks around a random
// permutation, so building a 4096 x 11008 weight costs O(d^2 * 64), not O(d^3)). The truncated factors are
// exact: U_r = first r columns of Q_out, V_r = first r columns of Q_in.
#include <cmath>
#include <functional>

#include "harness/registry.hpp"
#include "workloads/common/orthonormal.hpp"
#include "workloads/common/rng.hpp"
#include "workloads/lowrank_linear/generators.hpp"

namespace lrb {
namespace {

SpectralWeights spectral(const LowrankGenRequest& q) {
  const int m = std::min(q.d_in, q.d_out);
  SpectralWeights w;
  w.spectrum.resize(m);
  double sum = 0;
  for (int i = 0; i < m; ++i) sum += (w.spectrum[i] = std::pow(i + 1.0, -q.params.number("decay"))) * w.spectrum[i];
  // ||W||_F^2 = d_out: entries of variance 1/d_in, like a trained projection at initialization scale.
  for (auto& s : w.spectrum) s *= std::sqrt(static_cast<double>(q.d_out) / sum);

  Rng rng(stream_seed(q.seed, {kStreamSpectral, q.key}));
  const BlockOrthogonal q_out(q.d_out, rng), q_in(q.d_in, rng);
  // G = diag(s) Q_in^T (m x d_in): row i is s_i times column i of Q_in.
  MatrixD g(m, q.d_in);
  for (int i = 0; i < m; ++i) {
    const auto col = q_in.column(i);
    for (int c = 0; c < q.d_in; ++c) g(i, c) = w.spectrum[i] * col[c];
  }
  // W = Q_out[:, :m] G, applied column by column of G (padding to d_out with zeros).
  w.W.resize(q.d_out, q.d_in);
  std::vector<double> x(q.d_out), y(q.d_out);
  for (int c = 0; c < q.d_in; ++c) {
    std::fill(x.begin(), x.end(), 0.0);
    for (int i = 0; i < m; ++i) x[i] = g(i, c);
    q_out.apply(x.data(), y.data());
    for (int r = 0; r < q.d_out; ++r) w.W(r, c) = to_half(y[r]);
  }
  w.US.resize(q.d_out, q.rank);
  w.Vt.resize(q.rank, q.d_in);
  for (int i = 0; i < q.rank; ++i) {
    const auto u = q_out.column(i);
    for (int r = 0; r < q.d_out; ++r) w.US(r, i) = to_half(w.spectrum[i] * u[r]);
    const auto v = q_in.column(i);
    for (int c = 0; c < q.d_in; ++c) w.Vt(i, c) = to_half(v[c]);
  }
  return w;
}

[[maybe_unused]] const bool registered = [] {
  Registry::instance().add_workload(
      {"lowrank_linear", "spectral", "random orthogonal singular vectors, singular values (i+1)^-decay, exact truncation",
       {{"decay", ParamType::number, 0.5, "singular values fall as (i+1)^-decay", 0.0, 8.0, {}}},
       LowrankGenerator(spectral)});
  return true;
}();

}  // namespace
}  // namespace lrb
