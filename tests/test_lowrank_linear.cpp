// lowrank_linear CPU methods against FP64 X W^T (dense) and X W_r^T (two_gemm), odd shapes, r = 1, one
// token; the reported truncation error matches the spectrum's prediction.
#include <gtest/gtest.h>

#include <fmt/format.h>

#include "tests/support/method_check.hpp"
#include "workloads/lowrank_linear/problem.hpp"

namespace lrb::test {
namespace {

struct Shape {
  int d_in, d_out, rank, tokens;
};

class LowrankMethods : public ::testing::TestWithParam<std::tuple<std::string, Shape>> {};

TEST_P(LowrankMethods, MatchFp64Reference) {
  const auto& [method, s] = GetParam();
  const MethodRun r = check_method("lowrank_linear", method,
                                   {{"d_in", s.d_in}, {"d_out", s.d_out}, {"rank", s.rank}, {"tokens", s.tokens}});
  ASSERT_TRUE(r.support.ok);
  EXPECT_FALSE(r.check.failure) << *r.check.failure;
  const Json& f = r.check.fidelity;
  EXPECT_LT(f["rel_error"].get<double>(), 1e-5) << f.dump();
  if (method == "dense") {
    EXPECT_EQ(f["target"], "X W^T");
  } else {
    EXPECT_EQ(f["target"], "X W_r^T");
    // The error against the full layer is the truncation's: sqrt(1 - energy kept) for white X.
    const double predicted = std::sqrt(1.0 - f["energy_kept"].get<double>());
    if (s.tokens >= 16) {
      EXPECT_NEAR(f["rel_error_vs_full"].get<double>(), predicted, 0.35 * predicted + 1e-3);
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Cpu, LowrankMethods,
                         ::testing::Combine(::testing::Values("dense", "two_gemm"),
                                            ::testing::Values(Shape{37, 23, 1, 1}, Shape{23, 37, 5, 3},
                                                              Shape{40, 72, 8, 33}, Shape{64, 64, 64, 16},
                                                              Shape{100, 30, 2, 64})),
                         [](const auto& info) {
                           const Shape& s = std::get<1>(info.param);
                           return fmt::format("{}_d{}x{}_r{}_t{}", std::get<0>(info.param), s.d_in, s.d_out, s.rank,
                                              s.tokens);
                         });

TEST(LowrankMethods, TwoGemmStoresLessAndMaterializesItsIntermediate) {
  const Json v = {{"d_in", 200}, {"d_out", 300}, {"rank", 10}, {"tokens", 50}};
  const MethodRun dense = check_method("lowrank_linear", "dense", v);
  const MethodRun two = check_method("lowrank_linear", "two_gemm", v);
  EXPECT_EQ(two.footprint.total(), 4u * 10 * (200 + 300));
  EXPECT_EQ(dense.footprint.total(), 4u * 200 * 300);
}

}  // namespace
}  // namespace lrb::test
