// Conformance on the GPU (ctest label gpu), generated from the registry: every listed method's CUDA path on
// its family's odd shapes, judged against the FP64 reference by the harness's correctness pass (poisoned
// outputs, guard bands), and compared with the CPU path of the same method, or of its declared reference
// method when it has no CPU path, within fp16 tolerance. Blobs are compared byte for byte only where the
// method declares them deterministic; decoded caches always. Without a GPU each case skips.
#include <gtest/gtest.h>

#include "harness/backend.hpp"
#include "workloads/kv_compression/method_base.hpp"
#include "tests/support/conformance.hpp"
#include "tests/support/gpu.hpp"
#include "tests/support/method_check.hpp"

namespace lrb::test {
namespace {

class GpuConformance : public ::testing::TestWithParam<ConformanceCase> {};

TEST_P(GpuConformance, MatchesTheReferenceAndTheCpuPath) {
  REQUIRE_GPU();
  const ConformanceCase& c = GetParam();
  const MethodInfo& info = *Registry::instance().method(c.method);
  const std::string cpu_method = info.supports_backend(Backend::cpu) ? info.id : info.traits.reference;
  ASSERT_FALSE(cpu_method.empty()) << c.method << " has no CPU path and names no reference method";
  const MethodRun gpu = check_method(c.family, c.method, c.values, c.params, Backend::cuda);
  const MethodRun cpu =
      check_method(c.family, cpu_method, c.values, cpu_method == c.method ? c.params : Json::object(), Backend::cpu);
  if (!gpu.support.ok) GTEST_SKIP() << "not applicable on the GPU: " << gpu.support.reason;
  ASSERT_TRUE(cpu.support.ok) << cpu_method << " cannot run where " << c.method << " can: " << cpu.support.reason;
  ASSERT_FALSE(gpu.check.failure) << *gpu.check.failure << "\n" << gpu.check.fidelity.dump();
  ASSERT_FALSE(cpu.check.failure) << *cpu.check.failure;
  const auto& yg = gpu.check.outputs;
  const auto& yc = cpu.check.outputs;
  ASSERT_EQ(yg.size(), yc.size());
  for (std::size_t i = 0; i < yg.size(); ++i) {
    EXPECT_EQ(yg[i].name, yc[i].name);
    EXPECT_LT(rel_diff(yg[i].values, yc[i].values), 5e-3) << "output " << yg[i].name;
  }
  if (c.family == "kv_compression" && cpu_method == c.method) {
    auto& mg = dynamic_cast<KvCompressionMethod&>(*gpu.method);
    auto& mc = dynamic_cast<KvCompressionMethod&>(*cpu.method);
    EXPECT_EQ(mg.sizes().blob_bytes, mc.sizes().blob_bytes);
    if (info.traits.deterministic_blob) {
      EXPECT_EQ(mg.blob_on_host(*gpu.ctx), mc.blob_on_host(*cpu.ctx)) << "the blob is declared deterministic";
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Registry, GpuConformance, ::testing::ValuesIn(conformance_cases(Backend::cuda)),
                         [](const auto& info) { return info.param.name(); });

// A CUDA-only method (no CPU class), checked against its declared reference; and a write past its output
// buffer, caught by the device guard bands and named.
TEST(GpuGuardBands, CudaOnlyMethodAndItsOutOfBoundsWrite) {
  REQUIRE_GPU();
  const Json values = {{"model", "tiny"}, {"projections", {"q", "o"}}, {"d_in", 37}, {"d_out", 23}, {"batch", 5}};
  const MethodInfo& info = *Registry::instance().method("test_cuda_only");
  EXPECT_FALSE(info.supports_backend(Backend::cpu));
  const MethodRun ok = check_method("adapter_projection", "test_cuda_only", values, {{"mode", "none"}}, Backend::cuda);
  ASSERT_FALSE(ok.check.failure) << *ok.check.failure;
  const MethodRun ref = check_method("adapter_projection", info.traits.reference, values, Json::object(), Backend::cpu);
  for (std::size_t i = 0; i < ok.check.outputs.size(); ++i)
    EXPECT_LT(rel_diff(ok.check.outputs[i].values, ref.check.outputs[i].values), 5e-3);
  const MethodRun bad = check_method("adapter_projection", "test_cuda_only", values, {{"mode", "past_end"}},
                                     Backend::cuda);
  ASSERT_TRUE(bad.check.failure);
  EXPECT_NE(bad.check.failure->find("out of bounds: output 'L0.o'"), std::string::npos) << *bad.check.failure;
  std::cout << "guard band verdict: " << *bad.check.failure << "\n";
}

}  // namespace
}  // namespace lrb::test
