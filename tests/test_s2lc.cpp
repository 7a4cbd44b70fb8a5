// s2lc (seed 000) on the CPU: the encoder against the seed's test-1 thresholds where its premise holds,
// the shared basis against a brute-force SVD of the stacked dW_k, the two basis solvers against each
// other, the layouts against each other and against their byte arithmetic, and the forward pass against
// an independent fp64 computation of X V U^T from the encoder's own output.
#include <gtest/gtest.h>

#include <Eigen/SVD>

#include <cmath>
#include <random>

#include "methods/s2lc/s2lc_encoding.hpp"
#include "tests/support/method_check.hpp"
#include "workloads/adapter_projection/method_base.hpp"

namespace lrb::test {
namespace {

std::shared_ptr<AdapterProblem> problem_of(const std::string& generator, Json generator_params, int K, int rank,
                                           int batch, int d_in = 96, int d_out = 80,
                                           std::string popularity = "uniform") {
  AdapterProblemSpec s;
  s.model = "tiny";
  s.projections = {"q", "v"};
  s.layers = 2;
  s.mode = "adapter-only";
  s.K = K;
  s.rank = rank;
  s.batch = batch;
  s.generator = generator;
  s.generator_params = std::move(generator_params);
  s.popularity = std::move(popularity);
  s.d_in = d_in;
  s.d_out = d_out;
  s.seed = 11;
  return build_adapter_problem(s);
}

TEST(S2lcEncoder, SharedSubspaceOverlapOneMeetsSeedTest1) {
  const auto p = problem_of("shared_subspace", {{"overlap", 1.0}}, 12, 8, 4);
  const s2lc::Encoding enc = s2lc::encode(*p, 8);
  const Json& t1 = enc.stats["test1"];
  EXPECT_GT(t1["cosine_min"].get<double>(), 0.99) << enc.stats.dump(1);
  EXPECT_LT(t1["mae_max"].get<double>(), 0.005) << enc.stats.dump(1);
  EXPECT_TRUE(t1["holds"].get<bool>());
  // The premise holds: the shared basis keeps every adapter's energy (up to the fp16 factors).
  EXPECT_GT(enc.stats["energy_kept"]["min"].get<double>(), 1 - 1e-6);
}

TEST(S2lcEncoder, IndependentAdaptersLoseEnergyAndFailTest1) {
  // A finding the harness must be able to report: R = r cannot hold K independent r-dimensional row spaces.
  const auto p = problem_of("trained_like", Json::object(), 12, 8, 4);
  const s2lc::Encoding enc = s2lc::encode(*p, 8);
  EXPECT_LT(enc.stats["energy_kept"]["mean"].get<double>(), 0.5);
  EXPECT_FALSE(enc.stats["test1"]["holds"].get<bool>());
}

TEST(S2lcBasis, MatchesBruteForceSvdOfStackedDeltas) {
  const auto p = problem_of("trained_like", Json::object(), 6, 4, 2, 40, 24);
  const auto& adapters = p->projections[0].adapters;
  const int R = 5;
  // Brute force: stack every dW_k = s B_k A_k (formed explicitly) and take its top-R right singular vectors.
  Eigen::MatrixXd stacked(24 * adapters.size(), 40);
  for (std::size_t k = 0; k < adapters.size(); ++k)
    stacked.middleRows(24 * k, 24) = double(adapters[k].scale) * adapters[k].B.cast<float>().cast<double>() *
                                     adapters[k].A.cast<float>().cast<double>();
  Eigen::JacobiSVD<Eigen::MatrixXd> svd(stacked, Eigen::ComputeThinV);
  double best = 0;
  for (int i = 0; i < R; ++i) best += svd.singularValues()(i) * svd.singularValues()(i);
  const s2lc::BasisResult b = s2lc::shared_basis(s2lc::stacked_factors(adapters), R);
  EXPECT_EQ(b.solver, "exact");
  const Eigen::MatrixXd V = b.V;
  EXPECT_NEAR((V.transpose() * V - Eigen::MatrixXd::Identity(R, R)).norm(), 0.0, 1e-10);
  EXPECT_NEAR((stacked * V).squaredNorm(), best, 1e-9 * best);
  EXPECT_NEAR(b.total_energy, stacked.squaredNorm(), 1e-9 * b.total_energy);
  // Same subspace: the projectors agree (the spectrum has gaps here).
  const Eigen::MatrixXd Vs = svd.matrixV().leftCols(R);
  EXPECT_LT((V * V.transpose() - Vs * Vs.transpose()).norm(), 1e-6);
}

TEST(S2lcBasis, SubspaceIterationReachesTheExactEnergy) {
  const auto p = problem_of("trained_like", Json::object(), 20, 8, 2, 128, 64);
  const MatrixD Z = s2lc::stacked_factors(p->projections[1].adapters);
  s2lc::BasisOptions iterative;
  iterative.force_iterative = true;
  const auto exact = s2lc::shared_basis(Z, 12);
  const auto iter = s2lc::shared_basis(Z, 12, iterative);
  EXPECT_EQ(iter.solver, "subspace_iteration");
  EXPECT_TRUE(iter.converged) << iter.iterations;
  const double e_exact = (Z * exact.V).squaredNorm(), e_iter = (Z * iter.V).squaredNorm();
  EXPECT_NEAR(e_iter, e_exact, 1e-7 * e_exact);
}

TEST(S2lcBasis, CompletesTheBasisWhenThePopulationSpansLessThanR) {
  const auto p = problem_of("trained_like", Json::object(), 1, 2, 1, 16, 12);  // K r = 2 < R = 6
  const auto b = s2lc::shared_basis(s2lc::stacked_factors(p->projections[0].adapters), 6);
  const Eigen::MatrixXd V = b.V;
  EXPECT_NEAR((V.transpose() * V - Eigen::MatrixXd::Identity(6, 6)).norm(), 0.0, 1e-10);
  EXPECT_EQ(b.eigenvalues[2], 0.0);
}

TEST(S2lcCodes, KmeansFindsSeparatedClusters) {
  std::vector<double> v;
  std::mt19937 gen(3);
  std::normal_distribution<double> noise(0.0, 0.01);
  for (int c = 0; c < 4; ++c)
    for (int i = 0; i < 100 + 50 * c; ++i) v.push_back(c * 10.0 + noise(gen));
  const auto centroids = s2lc::kmeans_1d(v, 4);
  for (int c = 0; c < 4; ++c) EXPECT_NEAR(centroids[c], c * 10.0, 0.01);
}

TEST(S2lcCodes, PackUnpackRoundtripsEveryIndexPair) {
  std::vector<std::uint8_t> i1(8 * 37), i2(8 * 37);
  for (std::size_t e = 0; e < i1.size(); ++e) {
    i1[e] = static_cast<std::uint8_t>((e * 7 + 3) % 16);
    i2[e] = static_cast<std::uint8_t>((e * 5 + 1) % 8);
  }
  const auto packed = s2lc::pack_indices(i1, i2);
  EXPECT_EQ(packed.size(), i1.size() * 7 / 8);
  std::vector<std::uint8_t> o1(i1.size()), o2(i2.size());
  s2lc::unpack_indices(packed.data(), i1.size(), o1.data(), o2.data());
  EXPECT_EQ(o1, i1);
  EXPECT_EQ(o2, i2);
  EXPECT_THROW(s2lc::pack_indices(std::vector<std::uint8_t>(7), std::vector<std::uint8_t>(7)), std::invalid_argument);
}

TEST(S2lcLayouts, PackedDecodesToExactlyTheU8x2Values) {
  const auto p = problem_of("trained_like", Json::object(), 5, 8, 3, 64, 40);
  const auto enc = s2lc::encode(*p, 16);
  for (const auto& proj : enc.projections)
    for (const auto& a : proj.adapters) {
      const MatrixF u8 = s2lc::decode_adapter(a, s2lc::Layout::u8x2, proj.d_out, proj.R);
      const MatrixF packed = s2lc::decode_adapter(a, s2lc::Layout::packed, proj.d_out, proj.R);
      ASSERT_EQ(u8.size(), packed.size());
      EXPECT_EQ(0, std::memcmp(u8.data(), packed.data(), sizeof(float) * u8.size()));  // bit for bit
    }
}

TEST(S2lcLayouts, StoredBytesEqualTheArithmeticOfEachLayout) {
  const int K = 7, R = 16, d_in = 96, d_out = 80, P = 4;  // 2 layers x (q, v)
  const auto p = problem_of("gaussian", Json::object(), K, 8, 3, d_in, d_out);
  const auto enc = s2lc::encode(*p, R);
  const double n = double(d_out) * R;
  const auto u8 = s2lc::stored_bytes(enc, s2lc::Layout::u8x2);
  const auto packed = s2lc::stored_bytes(enc, s2lc::Layout::packed);
  const auto fp16 = s2lc::stored_bytes(enc, s2lc::Layout::fp16);
  for (const auto* f : {&u8, &packed, &fp16}) EXPECT_EQ(f->components.at("shared_bases"), P * 2.0 * d_in * R);
  EXPECT_EQ(u8.components.at("indices"), P * K * 2.0 * n);
  EXPECT_EQ(packed.components.at("indices"), P * K * 7.0 * n / 8);
  EXPECT_EQ(u8.components.at("codebooks"), P * K * 2.0 * 24);
  EXPECT_EQ(packed.components.at("codebooks"), P * K * 2.0 * 24);
  EXPECT_EQ(fp16.components.at("adapters_fp16"), P * K * 2.0 * n);
  EXPECT_EQ(fp16.components.count("codebooks"), 0u);
}

TEST(S2lcForward, CpuPathEqualsXVUtFromTheEncoding) {
  for (const char* layout : {"u8x2", "packed", "fp16"}) {
    const Json values = {{"model", "tiny"}, {"projections", {"q", "o"}}, {"layers", 2}, {"d_in", 64}, {"d_out", 48},
                         {"K", 6}, {"rank", 8}, {"batch", 9}, {"mode", "base+adapter"}, {"generator", "trained_like"},
                         {"seed", 4}};
    const MethodRun r = check_method("adapter_projection", "s2lc", values, {{"basis_rank", 16}, {"layout", layout}});
    ASSERT_TRUE(r.support.ok) << r.support.reason;
    ASSERT_FALSE(r.check.failure) << *r.check.failure;
    const auto& p = static_cast<const AdapterProblem&>(*r.problem);
    const auto enc = s2lc::cached_encoding(p, 16);
    const auto& out = r.check.outputs;
    for (std::size_t i = 0; i < p.projections.size(); ++i) {
      const auto& e = enc->projections[i];
      const MatrixD X = p.projections[i].X.cast<float>().cast<double>();
      MatrixD want = X * p.projections[i].W.cast<float>().cast<double>().transpose();
      const MatrixD T = X * e.V.cast<float>().cast<double>();
      for (int t = 0; t < p.batch; ++t) {
        const auto& code = e.adapters[p.layout.token_adapter[t]];
        for (int j = 0; j < e.d_out; ++j)
          for (int c = 0; c < e.R; ++c)
            want(t, j) += T(t, c) * s2lc::decoded(code, s2lc::parse_layout(layout), std::size_t(j) * e.R + c);
      }
      EXPECT_LT((MatrixD(out[i].values.cast<double>()) - want).norm() / want.norm(), 1e-5) << layout << " projection " << i;
    }
  }
}

TEST(S2lcForward, OverlapOneFp16LayoutReproducesTheLoraOutput) {
  // With the premise exact and no quantization, s2lc is LoRA up to fp16 rounding of V and U.
  const Json values = {{"model", "tiny"}, {"projections", {"q", "v"}}, {"layers", 1}, {"d_in", 64}, {"d_out", 48},
                       {"K", 9}, {"rank", 8}, {"batch", 7}, {"mode", "adapter-only"}, {"generator", "shared_subspace"},
                       {"overlap", 1.0}, {"popularity", "distinct"}};
  const MethodRun r = check_method("adapter_projection", "s2lc", values, {{"basis_rank", 8}, {"layout", "fp16"}});
  ASSERT_FALSE(r.check.failure);
  EXPECT_LT(r.check.fidelity["rel_error"].get<double>(), 5e-3) << r.check.fidelity.dump();
  // Compressed adapters: ratio reported against fp16 LoRA factors.
  const Json c = Registry::instance().family("adapter_projection")->compression(*r.problem, *r.info, *r.method);
  EXPECT_GT(c["ratio"].get<double>(), 0.5);
}

TEST(S2lcMethod, RefusesPackedWithRankNotMultipleOf8) {
  const Json values = {{"model", "tiny"}, {"K", 2}, {"rank", 4}, {"batch", 2}};
  const MethodRun r = check_method("adapter_projection", "s2lc", values, {{"basis_rank", 12}, {"layout", "packed"}});
  EXPECT_FALSE(r.support.ok);
  EXPECT_NE(r.support.reason.find("multiple of 8"), std::string::npos);
}

}  // namespace
}  // namespace lrb::test
