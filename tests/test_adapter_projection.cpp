// adapter_projection's reference and the correctness pass on it: wrong, unwritten, NaN and out-of-bounds
// outputs are caught (every method against the FP64 reference: test_conformance.cpp).
#include <gtest/gtest.h>

#include "methods/base_only/base_only.hpp"
#include "methods/bgmv/punica_params.hpp"
#include "tests/support/method_check.hpp"
#include "workloads/adapter_projection/problem.hpp"

namespace lrb::test {
namespace {

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

TEST(AdapterCheck, WritesOutsideAnOutputFailNamingTheBuffer) {
  const Json values = {{"model", "tiny"}, {"projections", {"q", "o"}}, {"K", 2}, {"rank", 2}, {"batch", 3}};
  const MethodRun past = check_method("adapter_projection", "test_out_of_bounds", values, {{"mode", "past_end"}});
  ASSERT_TRUE(past.check.failure);
  EXPECT_NE(past.check.failure->find("out of bounds: output 'L0.o'"), std::string::npos) << *past.check.failure;
  EXPECT_NE(past.check.failure->find("1 of 64 guard elements after it"), std::string::npos) << *past.check.failure;
  const MethodRun before = check_method("adapter_projection", "test_out_of_bounds", values, {{"mode", "before_start"}});
  ASSERT_TRUE(before.check.failure);
  EXPECT_NE(before.check.failure->find("output 'L0.q': 1 of 64 guard elements before it"), std::string::npos)
      << *before.check.failure;
  const MethodRun clean = check_method("adapter_projection", "test_out_of_bounds", values, {{"mode", "none"}});
  EXPECT_FALSE(clean.check.failure) << *clean.check.failure;
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
  const CheckResult r =
      ::lrb::check_method(*family, *Registry::instance().method("sequential_lora"), *problem, *method, ctx, tight);
  EXPECT_FALSE(r.failure);
  EXPECT_TRUE(r.fidelity["sampled"].get<bool>());
  EXPECT_LT(r.fidelity["projections_checked"].get<int>(), 8);
  EXPECT_GE(r.fidelity["projections_checked"].get<int>(), 1);
  EXPECT_TRUE(r.fidelity.contains("sample_note"));
}

// The CUDA paths' applicability checks take the method's own parameters: a point holds only the family's values,
// so a check that looked for `schedule` or `pass` in the point never fired (the GPU conformance suite then threw
// from prepare instead of skipping the shape).
TEST(AdapterCudaSupport, CutlassScheduleNeedsRowsOf16Bytes) {
  const Point odd = make_point("adapter_projection", {{"model", "tiny"}, {"projections", {"q", "o"}}, {"d_in", 37},
                                                       {"d_out", 24}, {"batch", 5}});
  const Point even = make_point("adapter_projection", {{"model", "tiny"}, {"projections", {"q", "o"}}, {"d_in", 40},
                                                        {"d_out", 24}, {"batch", 5}});
  const Support no = base_only::schedule_support(true, odd, "");
  EXPECT_FALSE(no.ok);
  EXPECT_NE(no.reason.find("multiples of 8"), std::string::npos) << no.reason;
  EXPECT_NE(no.reason.find("24 x 37"), std::string::npos) << no.reason;
  EXPECT_TRUE(base_only::schedule_support(true, even, "").ok);
  EXPECT_TRUE(base_only::schedule_support(false, odd, "").ok);
  EXPECT_TRUE(base_only::schedule_support(false, odd, "no GPU").ok);
  const Support absent = base_only::schedule_support(true, even, "built without CUTLASS");
  EXPECT_FALSE(absent.ok);
  EXPECT_EQ(absent.reason, "built without CUTLASS");
  const Point llama = make_point("adapter_projection", {{"model", "llama2-7b"}, {"projections", {"q", "k", "v", "o"}}});
  EXPECT_TRUE(base_only::schedule_support(true, llama, "").ok);
}

TEST(AdapterCudaSupport, FusedPassNeedsTheBaseAndAtMost64Tokens) {
  const Json base = {{"model", "tiny"}, {"projections", {"q"}}, {"K", 2}, {"rank", 2}};
  Json v = base;
  v["batch"] = punica::kFusedMaxBatch;
  EXPECT_TRUE(punica::can_run(make_point("adapter_projection", v), true).ok);
  v["batch"] = punica::kFusedMaxBatch + 1;
  const Support big = punica::can_run(make_point("adapter_projection", v), true);
  EXPECT_FALSE(big.ok);
  EXPECT_NE(big.reason.find("batch = 65"), std::string::npos) << big.reason;
  EXPECT_TRUE(punica::can_run(make_point("adapter_projection", v), false).ok);
  v["batch"] = 4;
  v["mode"] = "adapter-only";
  EXPECT_FALSE(punica::can_run(make_point("adapter_projection", v), true).ok);
  EXPECT_TRUE(punica::can_run(make_point("adapter_projection", v), false).ok);
}

}  // namespace
}  // namespace lrb::test
