// Adapter population generators. Each adapter is a pure function of (seed, projection, adapter index).
#include <cmath>

#include "harness/registry.hpp"
#include "workloads/adapter_projection/problem.hpp"
#include "workloads/common/orthonormal.hpp"
#include "workloads/common/rng.hpp"

namespace lrb {
namespace {

// Singular values (i+1)^-decay scaled so that sum sigma^2 = target^2.
std::vector<double> spectrum(int r, double decay, double target) {
  std::vector<double> s(r);
  double sum = 0;
  for (int i = 0; i < r; ++i) {
    s[i] = std::pow(i + 1.0, -decay);
    sum += s[i] * s[i];
  }
  for (auto& v : s) v *= target / std::sqrt(sum);
  return s;
}

// s B A = Q_B diag(sigma) Q_A with A = diag(sqrt(sigma)) Q_A and B = Q_B diag(sqrt(sigma)) / s.
AdapterFactors factors_from(const MatrixD& qa /* r x d_in */, const MatrixD& qb_t /* r x d_out */,
                            const std::vector<double>& sigma, float scale) {
  const int r = static_cast<int>(qa.rows());
  AdapterFactors f;
  f.scale = scale;
  f.A.resize(r, qa.cols());
  f.B.resize(qb_t.cols(), r);
  for (int i = 0; i < r; ++i) {
    const double root = std::sqrt(sigma[i]);
    for (int c = 0; c < qa.cols(); ++c) f.A(i, c) = to_half(root * qa(i, c));
    for (int c = 0; c < qb_t.cols(); ++c) f.B(c, i) = to_half(root * qb_t(i, c) / scale);
  }
  return f;
}

std::vector<AdapterFactors> gaussian(const AdapterGenRequest& q) {
  std::vector<AdapterFactors> out;
  // A ~ N(0, 1/d_in), B ~ N(0, c^2 / r) / s: dW entries have variance c^2 / d_in, ||dW||_F ~ c sqrt(d_out).
  for (int k = 0; k < q.K; ++k) {
    Rng ra(stream_seed(q.seed, {kStreamAdapterA, q.projection_key, static_cast<std::uint64_t>(k)}));
    Rng rb(stream_seed(q.seed, {kStreamAdapterB, q.projection_key, static_cast<std::uint64_t>(k)}));
    AdapterFactors f;
    f.scale = q.scale;
    f.A.resize(q.rank, q.d_in);
    f.B.resize(q.d_out, q.rank);
    const double sa = 1.0 / std::sqrt(static_cast<double>(q.d_in));
    const double sb = q.adapter_norm / std::sqrt(static_cast<double>(q.rank)) / q.scale;
    for (int i = 0; i < q.rank; ++i)
      for (int c = 0; c < q.d_in; ++c) f.A(i, c) = to_half(sa * ra.normal());
    for (int i = 0; i < q.d_out; ++i)
      for (int c = 0; c < q.rank; ++c) f.B(i, c) = to_half(sb * rb.normal());
    out.push_back(std::move(f));
  }
  return out;
}

std::vector<AdapterFactors> trained_like(const AdapterGenRequest& q) {
  std::vector<AdapterFactors> out;
  const double target = q.adapter_norm * std::sqrt(static_cast<double>(q.d_out));
  const auto sigma = spectrum(q.rank, q.params.number("decay"), target);
  for (int k = 0; k < q.K; ++k) {
    Rng ra(stream_seed(q.seed, {kStreamAdapterA, q.projection_key, static_cast<std::uint64_t>(k)}));
    Rng rb(stream_seed(q.seed, {kStreamAdapterB, q.projection_key, static_cast<std::uint64_t>(k)}));
    const MatrixD qa = random_orthonormal_rows(q.rank, q.d_in, ra);
    const MatrixD qb = random_orthonormal_rows(q.rank, q.d_out, rb);
    out.push_back(factors_from(qa, qb, sigma, q.scale));
  }
  return out;
}

std::vector<AdapterFactors> shared_subspace(const AdapterGenRequest& q) {
  std::vector<AdapterFactors> out;
  const double target = q.adapter_norm * std::sqrt(static_cast<double>(q.d_out));
  const auto sigma = spectrum(q.rank, q.params.number("decay"), target);
  const double overlap = q.params.number("overlap");
  const int rc = q.params.integer("subspace_rank") > 0 ? static_cast<int>(q.params.integer("subspace_rank")) : q.rank;
  Rng rs(stream_seed(q.seed, {kStreamShared, q.projection_key}));
  const MatrixD common = random_orthonormal_rows(rc, q.d_in, rs);  // rc x d_in
  for (int k = 0; k < q.K; ++k) {
    Rng ra(stream_seed(q.seed, {kStreamAdapterA, q.projection_key, static_cast<std::uint64_t>(k)}));
    Rng rb(stream_seed(q.seed, {kStreamAdapterB, q.projection_key, static_cast<std::uint64_t>(k)}));
    // Row space: sqrt(overlap) * (a random mix of the common rows) + sqrt(1 - overlap) * a private part.
    MatrixD mix(q.rank, rc);
    for (int i = 0; i < q.rank; ++i)
      for (int c = 0; c < rc; ++c) mix(i, c) = ra.normal() / std::sqrt(static_cast<double>(rc));
    MatrixD g(q.rank, q.d_in);
    const double ws = std::sqrt(overlap), wp = std::sqrt(1.0 - overlap), sp = 1.0 / std::sqrt(double(q.d_in));
    for (int i = 0; i < q.rank; ++i)
      for (int c = 0; c < q.d_in; ++c) {
        double shared = 0;
        for (int j = 0; j < rc; ++j) shared += mix(i, j) * common(j, c);
        g(i, c) = ws * shared + wp * sp * ra.normal();
      }
    orthonormalize_rows(g, ra);
    const MatrixD qb = random_orthonormal_rows(q.rank, q.d_out, rb);
    out.push_back(factors_from(g, qb, sigma, q.scale));
  }
  return out;
}

ParamSpec decay_param() {
  return {"decay", ParamType::number, 0.5, "singular values of each adapter fall as (i+1)^-decay", 0.0, 8.0, {}};
}

[[maybe_unused]] const bool registered = [] {
  auto& r = Registry::instance();
  r.add_workload({"adapter_projection", "gaussian", "independent Gaussian factors A, B (flat spectrum)", {},
                  AdapterGenerator(gaussian)});
  r.add_workload({"adapter_projection", "trained_like",
                  "decaying singular spectrum on independent random subspaces (independently trained adapters)",
                  {decay_param()}, AdapterGenerator(trained_like)});
  r.add_workload({"adapter_projection", "shared_subspace",
                  "input-side row spaces drawn from a common subspace plus a private part: overlap 1 = all adapters "
                  "in one subspace (the S2LC premise), 0 = independent",
                  {{"overlap", ParamType::number, 1.0, "weight of the common subspace in each adapter's row space",
                    0.0, 1.0, {}},
                   {"subspace_rank", ParamType::integer, 0, "rank of the common subspace (0: the adapter rank)", 0.0, 4096.0, {}},
                   decay_param()},
                  AdapterGenerator(shared_subspace)});
  return true;
}();

}  // namespace
}  // namespace lrb
