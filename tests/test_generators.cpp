// Generators are deterministic (same seed, same bytes), seeds matter, and the synthetic structure is what
// the parameters say (spectra, subspace overlap, RoPE).
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>

#include <Eigen/SVD>

#include "harness/registry.hpp"
#include "harness/sweep.hpp"
#include "workloads/adapter_projection/problem.hpp"
#include "workloads/kv_compression/problem.hpp"
#include "workloads/lowrank_linear/problem.hpp"

namespace lrb {
namespace {

Point point_of(const std::string& family, Json values) {
  RunBlock block;
  block.task = family;
  block.workload = std::move(values);
  return expand_points(block, *Registry::instance().family(family)).at(0);
}

template <class M>
bool same_bytes(const M& a, const M& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(typename M::Scalar)) == 0;
}

const TaskFamily& family(const std::string& id) { return *Registry::instance().family(id); }

class AdapterGenerators : public ::testing::TestWithParam<std::string> {};

TEST_P(AdapterGenerators, SameSeedSameBytesOtherSeedOtherBytes) {
  Json w = {{"model", "tiny"}, {"layers", 2}, {"K", 3}, {"rank", 4}, {"batch", 5}, {"generator", GetParam()}};
  const auto a = family("adapter_projection").make_problem(point_of("adapter_projection", w));
  const auto b = family("adapter_projection").make_problem(point_of("adapter_projection", w));
  w["seed"] = 1;
  const auto c = family("adapter_projection").make_problem(point_of("adapter_projection", w));
  const auto& pa = static_cast<const AdapterProblem&>(*a);
  const auto& pb = static_cast<const AdapterProblem&>(*b);
  const auto& pc = static_cast<const AdapterProblem&>(*c);
  ASSERT_EQ(pa.projections.size(), 8u);
  for (std::size_t i = 0; i < pa.projections.size(); ++i) {
    EXPECT_TRUE(same_bytes(pa.projections[i].W, pb.projections[i].W));
    EXPECT_TRUE(same_bytes(pa.projections[i].X, pb.projections[i].X));
    for (int k = 0; k < 3; ++k) {
      EXPECT_TRUE(same_bytes(pa.projections[i].adapters[k].A, pb.projections[i].adapters[k].A));
      EXPECT_TRUE(same_bytes(pa.projections[i].adapters[k].B, pb.projections[i].adapters[k].B));
      EXPECT_FALSE(same_bytes(pa.projections[i].adapters[k].A, pc.projections[i].adapters[k].A));
    }
    EXPECT_FALSE(same_bytes(pa.projections[i].W, pc.projections[i].W));
  }
  EXPECT_EQ(pa.layout.token_adapter, pb.layout.token_adapter);
}

INSTANTIATE_TEST_SUITE_P(All, AdapterGenerators, ::testing::Values("gaussian", "trained_like", "shared_subspace"));

TEST(AdapterGenerators, AProjectionsDataDoesNotDependOnTheOthers) {
  const auto one = family("adapter_projection").make_problem(
      point_of("adapter_projection", {{"projections", {"v"}}, {"K", 2}, {"rank", 2}}));
  const auto four = family("adapter_projection").make_problem(
      point_of("adapter_projection", {{"projections", {"q", "k", "v", "o"}}, {"K", 2}, {"rank", 2}}));
  const auto& a = static_cast<const AdapterProblem&>(*one).projections[0];
  const auto& b = static_cast<const AdapterProblem&>(*four).projections[2];
  EXPECT_EQ(a.name, b.name);
  EXPECT_TRUE(same_bytes(a.W, b.W));
  EXPECT_TRUE(same_bytes(a.adapters[1].A, b.adapters[1].A));
}

// With overlap 1 every adapter's row space lies in one common rank-r subspace; with 0 they are unrelated.
double shared_energy(double overlap) {
  const auto prob = family("adapter_projection").make_problem(point_of(
      "adapter_projection", {{"model", "smollm-135m"}, {"projections", {"q"}}, {"K", 6}, {"rank", 4},
                             {"generator", "shared_subspace"}, {"overlap", overlap}}));
  const auto& proj = static_cast<const AdapterProblem&>(*prob).projections[0];
  // Top-4 right singular subspace of the stacked A's; fraction of the total energy it holds.
  MatrixD stacked(6 * 4, proj.d_in);
  for (int k = 0; k < 6; ++k) stacked.middleRows(k * 4, 4) = proj.adapters[k].A.cast<float>().cast<double>();
  Eigen::JacobiSVD<MatrixD> svd(stacked);
  const auto s = svd.singularValues();
  return s.head(4).squaredNorm() / s.squaredNorm();
}

TEST(AdapterGenerators, SharedSubspaceOverlapControlsSharing) {
  EXPECT_GT(shared_energy(1.0), 0.999);
  EXPECT_LT(shared_energy(0.0), 0.5);
}

TEST(AdapterGenerators, TrainedLikeHasTheRequestedSpectrum) {
  const auto prob = family("adapter_projection").make_problem(
      point_of("adapter_projection", {{"model", "smollm-135m"}, {"projections", {"q"}}, {"K", 1}, {"rank", 8},
                                      {"decay", 1.0}, {"alpha", 16.0}, {"adapter_norm", 0.5}}));
  const auto& proj = static_cast<const AdapterProblem&>(*prob).projections[0];
  const auto& f = proj.adapters[0];
  const MatrixD dw = f.scale * (f.B.cast<float>().cast<double>() * f.A.cast<float>().cast<double>());
  Eigen::JacobiSVD<MatrixD> svd(dw);
  const auto s = svd.singularValues();
  for (int i = 1; i < 8; ++i) EXPECT_NEAR(s(i) / s(0), 1.0 / (i + 1), 2e-3) << i;
  EXPECT_NEAR(dw.norm(), 0.5 * std::sqrt(576.0), 0.01 * dw.norm());
}

TEST(AdapterPopularity, LawsBehave) {
  auto tokens = [](const std::string& law, int K, int batch) {
    const auto prob = family("adapter_projection").make_problem(point_of(
        "adapter_projection", {{"projections", {"q"}}, {"K", K}, {"rank", 1}, {"batch", batch}, {"popularity", law}}));
    return static_cast<const AdapterProblem&>(*prob);
  };
  const auto& identical = tokens("identical", 8, 16);
  EXPECT_EQ(identical.layout.segments(), 1u);
  const auto& distinct = tokens("distinct", 40, 32);
  EXPECT_EQ(distinct.layout.segments(), 32u);
  const auto& zipf = tokens("zipf", 100, 64);
  int zero = 0;
  for (int id : zipf.layout.token_adapter) zero += id == 0;
  EXPECT_GT(zero, 64 / 10) << "adapter 0 is the most popular under zipf";
  for (int id : tokens("uniform", 5, 64).layout.token_adapter) {
    EXPECT_GE(id, 0);
    EXPECT_LT(id, 5);
  }
}

TEST(AdapterBatchLayout, SegmentsSortTokensByAdapterInFirstAppearanceOrder) {
  const AdapterBatch b = AdapterBatch::from_token_adapters({3, 1, 3, 0, 1, 3});
  EXPECT_EQ(b.segment_adapter, (std::vector<int>{3, 1, 0}));
  EXPECT_EQ(b.segment_offset, (std::vector<int>{0, 3, 5, 6}));
  EXPECT_EQ(b.order, (std::vector<int>{0, 2, 5, 1, 4, 3}));
  ASSERT_EQ(b.segments(), 3u);
  EXPECT_EQ(std::vector<int>(b.tokens(1).begin(), b.tokens(1).end()), (std::vector<int>{1, 4}));
  EXPECT_EQ(b.segment_size(2), 1);
  for (std::size_t s = 0; s < b.segments(); ++s)
    for (int t : b.tokens(s)) EXPECT_EQ(b.token_adapter[t], b.segment_adapter[s]);
}

TEST(AdapterPopularity, NoAdapterShareMarksThatManyTokensAndLeavesTheOthersAlone) {
  auto layout = [](double share, const char* law) {
    const auto prob = family("adapter_projection")
                          .make_problem(point_of("adapter_projection", {{"projections", {"q"}}, {"K", 7}, {"rank", 1},
                                                                        {"batch", 40}, {"popularity", law},
                                                                        {"no_adapter", share}}));
    return static_cast<const AdapterProblem&>(*prob).layout;
  };
  for (const char* law : {"uniform", "identical", "zipf"}) {
    const AdapterBatch none = layout(0.25, law), plain = layout(0.0, law);
    int marked = 0;
    for (int t = 0; t < 40; ++t) {
      if (none.token_adapter[t] == kNoAdapter) ++marked;
      else EXPECT_EQ(none.token_adapter[t], plain.token_adapter[t]) << law << " token " << t;  // the same draw
    }
    EXPECT_EQ(marked, 10) << law;
    EXPECT_EQ(none.adapters_used() + 1, none.segments()) << "one segment of tokens without an adapter";
    EXPECT_EQ(plain.adapters_used(), plain.segments());
  }
  const AdapterBatch all = layout(1.0, "uniform");
  EXPECT_EQ(all.segments(), 1u);
  EXPECT_EQ(all.adapters_used(), 0u);
  EXPECT_FALSE(all.has_adapter(0));
}

TEST(AdapterBatchLayout, StackedAdaptersHoldEveryAdaptersFactors) {
  const auto prob = family("adapter_projection").make_problem(
      point_of("adapter_projection", {{"projections", {"q"}}, {"K", 3}, {"rank", 2}, {"batch", 4}, {"d_in", 5},
                                      {"d_out", 7}}));
  const auto& proj = static_cast<const AdapterProblem&>(*prob).projections.at(0);
  const StackedAdapters s = proj.stacked();
  ASSERT_EQ(s.A.size(), 3u * 2 * 5);
  ASSERT_EQ(s.B.size(), 3u * 7 * 2);
  for (int k = 0; k < 3; ++k) {
    EXPECT_EQ(s.A[(k * 2 + 1) * 5 + 4], proj.adapters[k].A(1, 4));
    EXPECT_EQ(s.B[(k * 7 + 6) * 2 + 1], proj.adapters[k].B(6, 1));
    EXPECT_EQ(s.scale[k], proj.adapters[k].scale);
  }
}

class KvGenerators : public ::testing::TestWithParam<std::string> {};

TEST_P(KvGenerators, SameSeedSameBytes) {
  Json w = {{"model", "tiny"}, {"tokens", 9}, {"generator", GetParam()}};
  const auto a = family("kv_compression").make_problem(point_of("kv_compression", w));
  const auto b = family("kv_compression").make_problem(point_of("kv_compression", w));
  w["seed"] = 3;
  const auto c = family("kv_compression").make_problem(point_of("kv_compression", w));
  const auto& pa = static_cast<const KvProblem&>(*a);
  const auto& pb = static_cast<const KvProblem&>(*b);
  const auto& pc = static_cast<const KvProblem&>(*c);
  EXPECT_EQ(0, std::memcmp(pa.keys.data.data(), pb.keys.data.data(), pa.keys.bytes()));
  EXPECT_EQ(0, std::memcmp(pa.values.data.data(), pb.values.data.data(), pa.values.bytes()));
  EXPECT_EQ(0, std::memcmp(pa.queries.data.data(), pb.queries.data.data(), pa.queries.bytes()));
  EXPECT_NE(0, std::memcmp(pa.keys.data.data(), pc.keys.data.data(), pa.keys.bytes()));
}

INSTANTIATE_TEST_SUITE_P(All, KvGenerators, ::testing::Values("gaussian", "structured"));

TEST(Rope, RoundTripAndNormPreserved) {
  for (const char* style : {"neox", "interleaved"}) {
    RopeSpec rope{10000.0, 8, style};
    double v[10] = {1, -2, 3, 0.5, -1, 2, 0.25, 4, 7, -7};
    double w[10];
    std::memcpy(w, v, sizeof(v));
    apply_rope(w, 10, 37, rope);
    double n0 = 0, n1 = 0;
    for (int i = 0; i < 10; ++i) n0 += v[i] * v[i], n1 += w[i] * w[i];
    EXPECT_NEAR(n0, n1, 1e-12) << style;
    EXPECT_EQ(w[8], 7) << "dims beyond rotary_dims do not rotate";
    apply_rope(w, 10, 37, rope, /*inverse=*/true);
    for (int i = 0; i < 10; ++i) EXPECT_NEAR(w[i], v[i], 1e-12) << style;
  }
}

TEST(Rope, PositionZeroIsIdentityAndStylesDiffer) {
  RopeSpec neox{10000.0, 4, "neox"}, inter{10000.0, 4, "interleaved"};
  double a[4] = {1, 2, 3, 4}, b[4] = {1, 2, 3, 4};
  apply_rope(a, 4, 0, neox);
  EXPECT_EQ(a[1], 2);
  apply_rope(a, 4, 5, neox);
  apply_rope(b, 4, 5, inter);
  EXPECT_NE(a[1], b[1]);
}

TEST(KvStructured, KeysAreLowRankBeforeRope) {
  // With no noise and no outliers, each layer's pre-RoPE keys span latent_rank dimensions: check on values
  // (no RoPE) that the spectrum beyond latent_rank is ~0 after removing the channel bias.
  const auto prob = family("kv_compression").make_problem(point_of(
      "kv_compression", {{"model", "smollm-135m"}, {"layers", 1}, {"tokens", 64}, {"noise", 0.0}, {"bias", 0.0},
                         {"outlier_channels", 0}, {"latent_rank", 5}}));
  const auto& p = static_cast<const KvProblem&>(*prob);
  MatrixD v(64, p.values.token_width());
  for (int t = 0; t < 64; ++t)
    for (std::size_t i = 0; i < p.values.token_width(); ++i)
      v(t, static_cast<Eigen::Index>(i)) = static_cast<float>(p.values.data[p.values.index(0, t, 0, 0) + i]);
  Eigen::JacobiSVD<MatrixD> svd(v);
  const auto s = svd.singularValues();
  EXPECT_LT(s(5) / s(0), 1e-2) << "rank 5 up to fp16 rounding";
  EXPECT_GT(s(4) / s(0), 1e-2);
}

TEST(LowrankGenerator, ExactSpectrumAndTruncatedFactors) {
  const auto prob = family("lowrank_linear").make_problem(point_of(
      "lowrank_linear", {{"d_in", 70}, {"d_out", 50}, {"rank", 6}, {"decay", 1.0}, {"tokens", 3}}));
  const auto& p = static_cast<const LowrankProblem&>(*prob);
  Eigen::JacobiSVD<MatrixD> svd(p.W.cast<float>().cast<double>(), Eigen::ComputeThinU | Eigen::ComputeThinV);
  const auto s = svd.singularValues();
  ASSERT_EQ(p.spectrum.size(), 50u);
  for (int i = 0; i < 50; ++i) EXPECT_NEAR(s(i), p.spectrum[i], 2e-3 * p.spectrum[0]) << i;
  // US Vt equals the rank-6 truncation of W (up to fp16 rounding of both).
  const MatrixD wr = p.US.cast<float>().cast<double>() * p.Vt.cast<float>().cast<double>();
  const MatrixD best = svd.matrixU().leftCols(6) * s.head(6).asDiagonal() * svd.matrixV().leftCols(6).transpose();
  EXPECT_LT((wr - best).norm() / best.norm(), 2e-3);
  EXPECT_EQ(p.rank, 6);
}

TEST(LowrankGenerator, EnergyPicksTheSmallestSufficientRank) {
  const auto prob = family("lowrank_linear").make_problem(point_of(
      "lowrank_linear", {{"d_in", 64}, {"d_out", 64}, {"energy", 0.9}, {"decay", 1.0}, {"tokens", 1}}));
  const auto& p = static_cast<const LowrankProblem&>(*prob);
  EXPECT_GE(p.energy_kept, 0.9);
  double total = 0, below = 0;
  for (double s : p.spectrum) total += s * s;
  for (int i = 0; i < p.rank - 1; ++i) below += p.spectrum[i] * p.spectrum[i];
  EXPECT_LT(below / total, 0.9);
}

TEST(LowrankGenerator, Deterministic) {
  Json w = {{"model", "tiny"}, {"projection", "gate"}, {"rank", 3}, {"tokens", 2}};
  const auto a = family("lowrank_linear").make_problem(point_of("lowrank_linear", w));
  const auto b = family("lowrank_linear").make_problem(point_of("lowrank_linear", w));
  const auto& pa = static_cast<const LowrankProblem&>(*a);
  const auto& pb = static_cast<const LowrankProblem&>(*b);
  EXPECT_TRUE(same_bytes(pa.W, pb.W));
  EXPECT_TRUE(same_bytes(pa.US, pb.US));
  EXPECT_TRUE(same_bytes(pa.X, pb.X));
}

}  // namespace
}  // namespace lrb
