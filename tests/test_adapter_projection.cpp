// adapter_projection CPU methods against the FP64 reference, on odd shapes (d not a multiple of 16,
// r = 1, K = 1, one token), every popularity law and both modes; and the check itself catches faults.
#include <gtest/gtest.h>

#include <fmt/format.h>

#include "tests/support/method_check.hpp"
#include "workloads/adapter_projection/problem.hpp"

namespace lrb::test {
namespace {

struct Shape {
  int d_in, d_out, K, rank, batch;
  const char* popularity;
  const char* mode;
};

std::string name_of(const Shape& s) {
  std::string mode = s.mode;
  mode = mode == "base+adapter" ? "base" : "adapteronly";
  return fmt::format("d{}x{}_K{}_r{}_b{}_{}_{}", s.d_in, s.d_out, s.K, s.rank, s.batch, s.popularity, mode);
}

const Shape kShapes[] = {
    {37, 23, 1, 1, 1, "identical", "base+adapter"},   // everything minimal and odd
    {37, 23, 1, 1, 1, "identical", "adapter-only"},
    {40, 20, 3, 1, 7, "uniform", "base+adapter"},     // r = 1
    {17, 33, 5, 4, 5, "distinct", "base+adapter"},    // every token its own adapter
    {17, 33, 5, 4, 5, "distinct", "adapter-only"},
    {64, 48, 9, 8, 33, "zipf", "base+adapter"},
    {29, 61, 1, 16, 3, "uniform", "adapter-only"},    // K = 1, rank > d_in / 2
};

class AdapterMethods : public ::testing::TestWithParam<std::tuple<std::string, Shape>> {};

TEST_P(AdapterMethods, MatchFp64Reference) {
  const auto& [method, s] = GetParam();
  const Json values = {{"model", "tiny"}, {"projections", {"q", "o"}}, {"layers", 2}, {"d_in", s.d_in},
                       {"d_out", s.d_out}, {"K", s.K}, {"rank", s.rank}, {"batch", s.batch},
                       {"popularity", s.popularity}, {"mode", s.mode}, {"generator", "gaussian"}, {"seed", 11}};
  const MethodRun r = check_method("adapter_projection", method, values);
  if (method == "base_only" && std::string(s.mode) == "adapter-only") {
    EXPECT_FALSE(r.support.ok) << "base_only has nothing to run in adapter-only mode";
    return;
  }
  ASSERT_TRUE(r.support.ok) << r.support.reason;
  EXPECT_FALSE(r.check.failure) << *r.check.failure;
  const Json& f = r.check.fidelity;
  EXPECT_LT(f["rel_error"].get<double>(), 1e-5) << f.dump();  // fp32 arithmetic on fp16 inputs
  EXPECT_GT(f["cosine"].get<double>(), 0.999999);
  EXPECT_EQ(f["nonfinite_elements"], 0);
  EXPECT_EQ(f["projections_checked"], 4);
  if (method != "base_only" && std::string(s.mode) == "base+adapter") {
    // The adapter part alone is judged too: the base term cannot hide an adapter error.
    EXPECT_LT(f["adapter_rel_error"].get<double>(), 1e-4) << f.dump();
  }
  EXPECT_GT(r.footprint.total(), 0u);
}

INSTANTIATE_TEST_SUITE_P(Cpu, AdapterMethods,
                         ::testing::Combine(::testing::Values("base_only", "dense_merge", "sequential_lora"),
                                            ::testing::ValuesIn(kShapes)),
                         [](const auto& info) {
                           return std::get<0>(info.param) + "_" + name_of(std::get<1>(info.param));
                         });

TEST(AdapterReference, AdapterPartIsNotNegligible) {
  // A reference whose adapter term vanished would let an adapter bug pass: check its weight.
  const Json values = {{"model", "tiny"}, {"projections", {"q"}}, {"K", 4}, {"rank", 4}, {"batch", 8}};
  const MethodRun r = check_method("adapter_projection", "sequential_lora", values);
  const auto& p = static_cast<const AdapterProblem&>(*r.problem);
  const AdapterReference ref = adapter_reference(p, 0);
  EXPECT_GT(ref.adapter.norm(), 0.1 * ref.base.norm());
}

TEST(AdapterCheck, DetectsWrongUnwrittenAndNanOutputs) {
  const Json values = {{"model", "tiny"}, {"projections", {"q"}}, {"K", 2}, {"rank", 2}, {"batch", 3}};
  for (const char* mode : {"wrong", "unwritten", "nan"}) {
    const MethodRun r = check_method("adapter_projection", "test_fault", values, {{"mode", mode}, {"fail_on_batch", 3}});
    ASSERT_TRUE(r.check.failure) << mode;
    const std::string expect = std::string(mode) == "wrong" ? "incorrect" : "never written";
    EXPECT_NE(r.check.failure->find(expect), std::string::npos) << mode << ": " << *r.check.failure;
  }
  const MethodRun ok = check_method("adapter_projection", "test_fault", values, {{"mode", "nan"}, {"fail_on_batch", 4}});
  EXPECT_FALSE(ok.check.failure);
}

TEST(AdapterCheck, LargeProblemsAreSampledAndSaySo) {
  const Json values = {{"model", "tiny"}, {"projections", {"q", "k", "v", "o"}}, {"layers", 2}, {"K", 2}, {"rank", 2},
                       {"batch", 4}};
  const TaskFamily* family = Registry::instance().family("adapter_projection");
  const Point point = make_point("adapter_projection", values);
  auto method = Registry::instance().method("sequential_lora")->make(Params(), Backend::cpu);
  const auto problem = family->make_problem(point);
  ExecContext ctx(Backend::cpu);
  method->prepare(*problem, ctx);
  CheckOptions tight;
  tight.max_reference_flops = 3 * 2.0 * 4 * (40.0 * 40 + 2 * 80);  // room for three projections
  const CheckResult r = family->check(*problem, *method, ctx, tight);
  EXPECT_FALSE(r.failure);
  EXPECT_TRUE(r.fidelity["sampled"].get<bool>());
  EXPECT_LT(r.fidelity["projections_checked"].get<int>(), 8);
  EXPECT_GE(r.fidelity["projections_checked"].get<int>(), 1);
  EXPECT_TRUE(r.fidelity.contains("sample_note"));
}

}  // namespace
}  // namespace lrb::test
