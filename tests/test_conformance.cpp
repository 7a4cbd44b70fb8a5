// Conformance on the CPU, generated from the registry: every listed method's CPU path against its family's
// FP64 reference on the family's odd shapes (d not a multiple of 16, r = 1, K = 1, one token, both modes).
// The GPU half (CUDA paths against the CPU path or the reference method) is in test_gpu_conformance.cpp.
#include <gtest/gtest.h>

#include <cmath>
#include <set>

#include "tests/support/conformance.hpp"
#include "tests/support/method_check.hpp"

namespace lrb::test {
namespace {

class CpuConformance : public ::testing::TestWithParam<ConformanceCase> {};

TEST_P(CpuConformance, MatchesTheFp64Reference) {
  const ConformanceCase& c = GetParam();
  const MethodRun r = check_method(c.family, c.method, c.values, c.params, Backend::cpu);
  if (!r.support.ok) GTEST_SKIP() << "not applicable: " << r.support.reason;
  ASSERT_FALSE(r.check.failure) << *r.check.failure << "\n" << r.check.fidelity.dump();
  const Json& f = r.check.fidelity;
  EXPECT_EQ(f["nonfinite_elements"], 0);
  ASSERT_TRUE(f["rel_error"].is_number()) << f.dump();
  // Lossless CPU paths compute in fp32 from fp16 inputs: far inside any declared tolerance.
  const double tol = r.info->tolerance(*Registry::instance().family(c.family));
  if (std::isfinite(tol)) {
    EXPECT_LE(f["rel_error"].get<double>(), std::min(tol, 1e-5)) << f.dump();
    if (f.contains("adapter_rel_error")) {
      EXPECT_LT(f["adapter_rel_error"].get<double>(), 1e-4) << f.dump();
    }
  }
  EXPECT_FALSE(r.check.outputs.empty());
}

TEST(CpuConformance, CoversEveryListedMethodWithACpuPath) {
  std::set<std::string> covered;
  for (const auto& c : conformance_cases(Backend::cpu)) covered.insert(c.method);
  for (const MethodInfo* m : Registry::instance().methods("", false))
    if (m->supports_backend(Backend::cpu)) {
      EXPECT_TRUE(covered.count(m->id)) << m->id;
    }
  EXPECT_GE(covered.size(), 9u) << "every family's methods";
}

TEST(RegistryLinking, AnImplementationNeedsADeclarationAndAReferenceMustExist) {
  {
    Registry r;  // a registry of its own: the global one is the program's
    r.add_backend("ghost", Backend::cpu, [](const Params&) -> std::unique_ptr<Method> { return nullptr; });
    EXPECT_THROW(r.method("ghost"), std::logic_error) << "an implementation without LRBENCH_DECLARE_METHOD";
  }
  {
    Registry r;
    MethodDecl d;
    d.family = "adapter_projection";
    d.id = "orphan_kernel";
    d.traits.reference = "no_such_method";
    r.declare_method(d);
    EXPECT_THROW(r.methods(), std::logic_error) << "unknown family and reference";
  }
  // The global registry: every CUDA-only method names a reference of its own family.
  for (const MethodInfo* m : Registry::instance().methods()) {
    if (m->supports_backend(Backend::cpu) || m->backends().empty()) continue;
    EXPECT_FALSE(m->traits.reference.empty()) << m->id;
    EXPECT_EQ(Registry::instance().method(m->traits.reference)->family, m->family) << m->id;
  }
}

INSTANTIATE_TEST_SUITE_P(Registry, CpuConformance, ::testing::ValuesIn(conformance_cases(Backend::cpu)),
                         [](const auto& info) { return info.param.name(); });

}  // namespace
}  // namespace lrb::test
