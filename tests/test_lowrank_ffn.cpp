// lowrank_ffn CPU methods against the FP64 references (the uncompressed FFN for dense_ffn, the FFN of the
// truncated factors for the others) on odd shapes, unequal ranks, r = 1 and one token; full rank makes the
// factor methods the dense FFN; lower rank costs error; the reference samples rows beyond its budget.
#include <gtest/gtest.h>

#include <fmt/format.h>

#include "harness/host_memory.hpp"
#include "harness/measurement.hpp"
#include "harness/registry.hpp"
#include "tests/support/method_check.hpp"
#include "workloads/lowrank_ffn/problem.hpp"

namespace lrb::test {
namespace {

struct Shape {
  int d_model, d_ff, rank, tokens;
};

class LowrankFfnMethods : public ::testing::TestWithParam<std::tuple<std::string, Shape>> {};

TEST_P(LowrankFfnMethods, MatchTheirFp64Target) {
  const auto& [method, s] = GetParam();
  const MethodRun r = check_method("lowrank_ffn", method,
                                   {{"d_model", s.d_model}, {"d_ff", s.d_ff}, {"rank", s.rank}, {"tokens", s.tokens}});
  ASSERT_TRUE(r.support.ok);
  ASSERT_FALSE(r.check.failure) << *r.check.failure;
  const Json& f = r.check.fidelity;
  EXPECT_LT(f["rel_error"].get<double>(), 1e-5) << f.dump();
  EXPECT_EQ(f["rows_checked"], s.tokens);
  if (method == "dense_ffn") {
    EXPECT_EQ(f["target"], "the uncompressed FFN");
  } else {
    EXPECT_EQ(f["target"], "the FFN of the truncated factors");
    // Truncation costs error against the uncompressed FFN unless every component is kept.
    if (s.rank < std::min(s.d_model, s.d_ff)) EXPECT_GT(f["rel_error_vs_full"].get<double>(), 1e-3) << f.dump();
    else EXPECT_LT(f["rel_error_vs_full"].get<double>(), 1e-2) << f.dump();
  }
}

INSTANTIATE_TEST_SUITE_P(Cpu, LowrankFfnMethods,
                         ::testing::Combine(::testing::Values("dense_ffn", "unfused_lowrank", "packed_unfused", "flashsvd_ffn"),
                                            ::testing::Values(Shape{40, 100, 1, 1}, Shape{24, 72, 5, 3},
                                                              Shape{32, 96, 32, 16}, Shape{48, 136, 12, 65})),
                         [](const auto& info) {
                           const Shape& s = std::get<1>(info.param);
                           return fmt::format("{}_d{}x{}_r{}_t{}", std::get<0>(info.param), s.d_model, s.d_ff, s.rank,
                                              s.tokens);
                         });

TEST(LowrankFfn, UnequalRanksReachTheFactorsAndTheFootprint) {
  const Json v = {{"d_model", 64}, {"d_ff", 72}, {"rank_gate", 5}, {"rank_up", 9}, {"rank_down", 3}, {"tokens", 10}};
  const MethodRun r = check_method("lowrank_ffn", "packed_unfused", v);
  ASSERT_FALSE(r.check.failure) << *r.check.failure;
  const auto& p = static_cast<const LowrankFfnProblem&>(*r.problem);
  EXPECT_EQ(p.rank(LowrankFfnProblem::gate), 5);
  EXPECT_EQ(p.rank(LowrankFfnProblem::up), 9);
  EXPECT_EQ(p.rank(LowrankFfnProblem::down), 3);
  // fp32 copies of the six factors: (5 + 9) x (64 + 72) for gate and up, 3 x (72 + 64) for down.
  EXPECT_EQ(r.footprint.total(), 4u * (5 + 9 + 3) * (64 + 72));
}

TEST(LowrankFfn, RanksByEnergyKeepAtLeastThatEnergy) {
  const MethodRun r = check_method("lowrank_ffn", "unfused_lowrank",
                                   {{"d_model", 48}, {"d_ff", 136}, {"energy", 0.8}, {"tokens", 4}});
  ASSERT_FALSE(r.check.failure) << *r.check.failure;
  const auto& p = static_cast<const LowrankFfnProblem&>(*r.problem);
  for (int k = 0; k < 3; ++k) {
    EXPECT_GE(p.m[k].energy_kept(), 0.8);
    EXPECT_LT(p.m[k].rank(), 48);
  }
}

TEST(LowrankFfn, TheReferenceSamplesRowsBeyondItsBudget) {
  CheckOptions tight;
  tight.max_reference_flops = 2.0 * 3 * 32 * 96 * 5;  // five tokens' worth
  const MethodRun r = check_method("lowrank_ffn", "unfused_lowrank",
                                   {{"d_model", 32}, {"d_ff", 96}, {"rank", 8}, {"tokens", 50}}, {}, Backend::cpu, tight);
  ASSERT_FALSE(r.check.failure) << *r.check.failure;
  EXPECT_EQ(r.check.fidelity["rows_checked"], 5);
  EXPECT_TRUE(r.check.fidelity.contains("sampled"));
  EXPECT_LT(r.check.fidelity["rel_error"].get<double>(), 1e-5);
}

TEST(LowrankFfn, RankAboveTheSmallerWidthIsRejectedNamingTheParameter) {
  const TaskFamily* f = Registry::instance().family("lowrank_ffn");
  ASSERT_NE(f, nullptr);
  Point pt;
  for (const auto& spec : f->params()) pt.values[spec.name] = spec.default_value;
  pt.values["d_model"] = 16, pt.values["d_ff"] = 40, pt.values["rank"] = 8, pt.values["rank_up"] = 17;
  const auto bad = f->invalid_point(pt);
  ASSERT_TRUE(bad);
  EXPECT_EQ(bad->first, "rank_up");
}

// The memory pass records each method's own count of its intermediates beside the measured transient bytes,
// and (where the host heap is counted) the two agree: the [T, d_ff] activations dominate.
TEST(LowrankFfn, TransientMemoryIsCountedAndMeasured) {
  const Json v = {{"d_model", 32}, {"d_ff", 2048}, {"rank", 16}, {"tokens", 64}};
  const std::uint64_t act = 4ull * 64 * 2048;
  for (const char* method : {"dense_ffn", "unfused_lowrank", "packed_unfused"}) {
    const MethodRun r = check_method("lowrank_ffn", method, v);
    ASSERT_FALSE(r.check.failure) << *r.check.failure;
    const auto m = make_measurement(*r.ctx);
    const Json mem = m->memory(*r.method);
    ASSERT_TRUE(mem.contains("transient_analytic")) << mem.dump();
    const auto analytic = mem["transient_analytic"]["bytes"].get<std::uint64_t>();
    EXPECT_EQ(mem["transient_analytic"]["live"]["gate_act"].get<std::uint64_t>(), act) << method;
    EXPECT_GE(analytic, 2 * act) << method;
    EXPECT_LT(analytic, 2 * act + act / 4) << method;  // the rank-16 and output temporaries are small
    if (!host_memory::counting()) continue;
    const auto measured = mem["transient_bytes"].get<std::int64_t>();
    EXPECT_GE(measured, 0.9 * analytic) << method << ": " << mem.dump();
    EXPECT_LE(measured, 1.5 * analytic) << method << ": " << mem.dump();
  }
}

// flashsvd_ffn never holds [T, d_ff]: its own count is the rank inputs, down's input factor and one d_ff tile
// of g and u (at most 16 Ki floats each), and where the host heap is counted its measured transient is a small
// fraction of unfused_lowrank's at the same point.
TEST(LowrankFfn, FlashsvdFfnHoldsNoFfWideActivation) {
  const Json v = {{"d_model", 32}, {"d_ff", 4096}, {"rank", 16}, {"tokens", 64}};
  std::int64_t measured[2] = {0, 0};
  std::uint64_t analytic[2] = {0, 0};
  int i = 0;
  for (const char* method : {"unfused_lowrank", "flashsvd_ffn"}) {
    const MethodRun r = check_method("lowrank_ffn", method, v);
    ASSERT_FALSE(r.check.failure) << *r.check.failure;
    const Json mem = make_measurement(*r.ctx)->memory(*r.method);
    analytic[i] = mem["transient_analytic"]["bytes"].get<std::uint64_t>();
    if (host_memory::counting()) measured[i] = mem["transient_bytes"].get<std::int64_t>();
    ++i;
  }
  const std::uint64_t act = 4ull * 64 * 4096, tile = 4ull * (1 << 14);
  EXPECT_GE(analytic[0], 2 * act);
  EXPECT_EQ(analytic[1], 4ull * 64 * (16 + 16) + 4ull * 64 * 16 + 2 * tile);
  if (!host_memory::counting()) GTEST_SKIP() << "built without the host allocation counter: counts checked only";
  EXPECT_LT(measured[1] * 5, measured[0]) << measured[1] << " vs " << measured[0];
}

TEST(LowrankFfn, TheModelGeneratorRefusesWhatItCannotBuildNamingTheParameter) {
  const TaskFamily* f = Registry::instance().family("lowrank_ffn");
  ASSERT_NE(f, nullptr);
  Point pt;
  for (const auto& spec : f->params()) pt.values[spec.name] = spec.default_value;
  const WorkloadInfo* w = Registry::instance().workload("lowrank_ffn", "model");
  ASSERT_NE(w, nullptr);
  for (const auto& spec : w->params) pt.values[spec.name] = spec.default_value;
  pt.values["generator"] = "model";
  const auto refused_on = [&](Json values) {
    Point q = pt;
    for (auto& [k, v] : values.items()) q.values[k] = v;
    const auto bad = f->invalid_point(q);
    return bad ? bad->first : std::string("accepted");
  };
  EXPECT_EQ(refused_on({{"model", "tiny"}}), "model");  // model_id is smollm2-135m
  EXPECT_EQ(refused_on({{"model", "smollm2-135m"}, {"d_ff", 100}}), "d_ff");
  EXPECT_EQ(refused_on({{"model", "smollm2-135m"}, {"layer", 30}}), "layer");
  EXPECT_EQ(refused_on({{"model", "smollm2-135m"}, {"layer", 29}}), "accepted");
}

}  // namespace
}  // namespace lrb::test
