// jd_full / jd_diag (Compress-then-Serve) on the CPU: exact where the population fits the shared rank, bases
// orthonormal (Full), the objective monotone over alternations, a population built from shared bases and
// diagonal cores recovered by JD-Diag, per-adapter errors against a brute-force fp64 dW_k, stored bytes by
// component, and the forward pass against an independent fp64 computation from the fit's own output.
#include <gtest/gtest.h>

#include <cmath>
#include <iostream>
#include <random>

#include "methods/jd/jd_fit.hpp"
#include "tests/support/method_check.hpp"

namespace lrb::test {
namespace {

MatrixH random_half(int rows, int cols, std::mt19937_64& rng, double sd) {
  std::normal_distribution<double> n(0.0, sd);
  MatrixH m(rows, cols);
  for (Eigen::Index i = 0; i < m.size(); ++i) m.data()[i] = Half(static_cast<float>(n(rng)));
  return m;
}

std::vector<AdapterFactors> random_adapters(int K, int r, int d_in, int d_out, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<AdapterFactors> out;
  for (int k = 0; k < K; ++k) out.push_back({random_half(r, d_in, rng, 0.2), random_half(d_out, r, rng, 0.2), 0.5f});
  return out;
}

MatrixD dense(const AdapterFactors& f) {
  return f.scale * (f.B.cast<float>().cast<double>() * f.A.cast<float>().cast<double>());
}
MatrixD approx(const jd::ProjectionFit& fit, std::size_t k) {
  const MatrixD U = fit.U.cast<float>().cast<double>(), V = fit.V.cast<float>().cast<double>();
  const MatrixD S = fit.cores.empty() ? MatrixD(fit.sigma.row(static_cast<Eigen::Index>(k)).cast<float>().cast<double>().transpose().asDiagonal())
                                      : MatrixD(fit.cores[k].cast<float>().cast<double>());
  return U * S * V.transpose();
}

TEST(JdFit, FullIsExactWhenTheSharedRankHoldsThePopulation) {
  // K r = 6 <= R = 6: the population's column and row spaces fit the bases; only fp16 storage is lost.
  const auto adapters = random_adapters(3, 2, 40, 30, 1);
  jd::Options o;
  o.R = 6;
  const jd::ProjectionFit fit = jd::fit_projection(adapters, 40, 30, jd::Core::full, o);
  for (std::size_t k = 0; k < adapters.size(); ++k) {
    EXPECT_LT(fit.rel_error[k], 2e-3) << k;
    const MatrixD d = dense(adapters[k]);
    EXPECT_NEAR((d - approx(fit, k)).norm() / d.norm(), fit.rel_error[k], 1e-6) << "the reported error is the real one";
  }
}

TEST(JdFit, FullBasesAreOrthonormalAndTheResidualNeverGrows) {
  const auto adapters = random_adapters(10, 4, 64, 48, 2);  // K r = 40 > R = 12: lossy
  jd::Options o;
  o.R = 12;
  const jd::ProjectionFit fit = jd::fit_projection(adapters, 64, 48, jd::Core::full, o);
  const MatrixD U = fit.U.cast<float>().cast<double>(), V = fit.V.cast<float>().cast<double>();
  EXPECT_LT((U.transpose() * U - MatrixD::Identity(12, 12)).norm(), 5e-3) << "orthonormal up to fp16 storage";
  EXPECT_LT((V.transpose() * V - MatrixD::Identity(12, 12)).norm(), 5e-3);
  ASSERT_GE(fit.objective.size(), 2u);
  for (std::size_t i = 1; i < fit.objective.size(); ++i)
    EXPECT_LE(fit.objective[i], fit.objective[i - 1] + 1e-12) << "alternation " << i;
  EXPECT_GT(fit.objective.back(), 0.01) << "rank 12 cannot hold 10 random rank-4 adapters";
  // Against brute force: each adapter's error from its dense dW_k.
  for (std::size_t k = 0; k < adapters.size(); ++k) {
    const MatrixD d = dense(adapters[k]);
    EXPECT_NEAR((d - approx(fit, k)).norm() / d.norm(), fit.rel_error[k], 1e-6) << k;
  }
}

TEST(JdFit, AlternationImprovesOnTheOneSidedStartAndTheStoredErrorIsTheResidual) {
  // The alternation starts from each side's own top-R subspace; refining them jointly must lower the
  // residual, and the dense error of the stored fit must equal the fit's last fp64 residual up to fp16.
  const auto adapters = random_adapters(8, 4, 50, 50, 3);
  jd::Options o;
  o.R = 16;
  const jd::ProjectionFit fit = jd::fit_projection(adapters, 50, 50, jd::Core::full, o);
  double total = 0, err = 0;
  for (std::size_t k = 0; k < adapters.size(); ++k) {
    const MatrixD d = dense(adapters[k]);
    total += d.squaredNorm();
    err += (d - approx(fit, k)).squaredNorm();
  }
  ASSERT_GE(fit.objective.size(), 2u);
  EXPECT_LT(fit.objective.back(), fit.objective.front() - 1e-4) << "the joint refinement gained nothing";
  EXPECT_LT(err / total, 0.95);
  EXPECT_NEAR(err / total, fit.objective.back(), 5e-3) << "the fp64 residual and the stored fit's agree";
  std::cout << "JD-Full residual: first " << fit.objective.front() << ", last " << fit.objective.back() << " after "
            << fit.iterations << " alternations\n";
}

TEST(JdFit, DiagRecoversSharedBasesAndDiagonalCores) {
  // dW_k = U0 diag(sigma_k) V0^T exactly (rank R = 5, stored as B_k = U0 diag(sigma_k), A_k = V0^T).
  std::mt19937_64 rng(4);
  const int R = 5, d_in = 36, d_out = 28, K = 9;
  const MatrixH U0 = random_half(d_out, R, rng, 0.3), V0 = random_half(d_in, R, rng, 0.3);
  std::uniform_real_distribution<double> u(0.5, 2.0);
  std::vector<AdapterFactors> adapters;
  for (int k = 0; k < K; ++k) {
    MatrixF B = U0.cast<float>();
    for (int j = 0; j < R; ++j) B.col(j) *= static_cast<float>(u(rng));
    adapters.push_back({MatrixH(V0.transpose()), B.cast<Half>(), 1.0f});
  }
  jd::Options o;
  o.R = R;
  o.iterations = 200;
  const jd::ProjectionFit fit = jd::fit_projection(adapters, d_in, d_out, jd::Core::diag, o);
  EXPECT_EQ(fit.sigma.rows(), K);
  EXPECT_EQ(fit.sigma.cols(), R);
  for (std::size_t k = 0; k < adapters.size(); ++k) EXPECT_LT(fit.rel_error[k], 5e-3) << k;
  for (std::size_t i = 1; i < fit.objective.size(); ++i)
    EXPECT_LE(fit.objective[i], fit.objective[i - 1] + 1e-12) << "alternation " << i;
}

TEST(JdFit, DiagIsNoBetterThanFullOnAGeneralPopulation) {
  // A diagonal core is a special full core, and both start from the same bases.
  const auto adapters = random_adapters(6, 3, 40, 40, 5);
  jd::Options o;
  o.R = 10;
  const auto full = jd::fit_projection(adapters, 40, 40, jd::Core::full, o);
  const auto diag = jd::fit_projection(adapters, 40, 40, jd::Core::diag, o);
  double ef = 0, ed = 0;
  for (std::size_t k = 0; k < adapters.size(); ++k) ef += full.rel_error[k], ed += diag.rel_error[k];
  EXPECT_GE(ed, ef - 1e-3);
}

TEST(JdFit, RefusesASharedRankAboveTheDimensions) {
  const auto adapters = random_adapters(2, 2, 8, 6, 6);
  jd::Options o;
  o.R = 7;
  EXPECT_THROW(jd::fit_projection(adapters, 8, 6, jd::Core::full, o), std::invalid_argument);
}

TEST(JdMethod, ForwardPassIsTheFitsOwnFp64Product) {
  for (const char* id : {"jd_full", "jd_diag"}) {
    const MethodRun run = check_method("adapter_projection", id, {{"model", "tiny"}, {"K", 5}, {"rank", 4},
                                                                  {"batch", 9}, {"d_in", 48}, {"d_out", 40}},
                                       {{"shared_rank", 8}});
    ASSERT_TRUE(run.support.ok) << run.support.reason;
    ASSERT_FALSE(run.check.failure) << *run.check.failure;
    const Json m = run.method->metrics();
    EXPECT_EQ(m["fit"]["core"], std::string(id) == "jd_full" ? "full" : "diag") << id;
    EXPECT_GT(m["fit"]["adapter_rel_error"]["max"].get<double>(), 0.0) << id << ": rank 8 < K r = 20: lossy";
    // Stored bytes: U, V (fp16) and the cores, for every projection.
    const Footprint f = run.method->footprint();
    const int projections = static_cast<int>(static_cast<const AdapterProblem&>(*run.problem).projections.size());
    EXPECT_EQ(f.components.at("shared_bases"), static_cast<std::uint64_t>(projections) * 2 * 8 * (48 + 40)) << id;
    const std::uint64_t core = std::string(id) == "jd_full" ? 64 : 8;
    EXPECT_EQ(f.components.at("cores"), static_cast<std::uint64_t>(projections) * 5 * 2 * core) << id;
  }
}

TEST(JdMethod, OutputMatchesAnIndependentComputationFromTheStoredFit) {
  const Json values = {{"model", "tiny"}, {"K", 4}, {"rank", 2}, {"batch", 6}, {"d_in", 24}, {"d_out", 20},
                       {"mode", "adapter-only"}};
  const MethodRun run = check_method("adapter_projection", "jd_full", values, {{"shared_rank", 4}});
  ASSERT_FALSE(run.check.failure) << *run.check.failure;
  const auto& p = static_cast<const AdapterProblem&>(*run.problem);
  jd::Options o;
  o.R = 4;
  const auto fit = jd::cached_fit(p, jd::Core::full, o);
  for (std::size_t i = 0; i < p.projections.size(); ++i) {
    const auto& pf = fit->projections[i];
    const MatrixD X = p.projections[i].X.cast<float>().cast<double>();
    MatrixD want = MatrixD::Zero(p.batch, p.projections[i].d_out);
    for (int t = 0; t < p.batch; ++t) {
      const int k = p.layout.token_adapter[static_cast<std::size_t>(t)];
      want.row(t) = X.row(t) * approx(pf, static_cast<std::size_t>(k)).transpose();
    }
    const MatrixF& got = run.check.outputs.at(i).values;
    EXPECT_LT((got.cast<double>() - want).norm() / want.norm(), 1e-4) << p.projections[i].name;
  }
}

// A config lists jd_full and jd_diag side by side at every point: each core keeps its own fit, so alternating
// between them over points of the same adapters fits each once.
TEST(JdFit, FullAndDiagFitsAreKeptApartAcrossPointsOfTheSameAdapters) {
  const Json values = {{"model", "tiny"}, {"K", 4}, {"rank", 2}, {"batch", 6}, {"d_in", 24}, {"d_out", 20},
                       {"mode", "adapter-only"}, {"seed", 123457}};
  const MethodRun run = check_method("adapter_projection", "sequential_lora", values);
  const auto& p = static_cast<const AdapterProblem&>(*run.problem);
  ASSERT_FALSE(p.adapters_key.empty());
  jd::Options o;
  o.R = 3;
  bool made = false;
  const auto full = jd::cached_fit(p, jd::Core::full, o, &made);
  EXPECT_TRUE(made);
  const auto diag = jd::cached_fit(p, jd::Core::diag, o, &made);
  EXPECT_TRUE(made);
  EXPECT_EQ(jd::cached_fit(p, jd::Core::full, o, &made), full);
  EXPECT_FALSE(made);
  EXPECT_EQ(jd::cached_fit(p, jd::Core::diag, o, &made), diag);
  EXPECT_FALSE(made);
  o.R = 2;  // another setting is another fit
  jd::cached_fit(p, jd::Core::full, o, &made);
  EXPECT_TRUE(made);
}

}  // namespace
}  // namespace lrb::test
