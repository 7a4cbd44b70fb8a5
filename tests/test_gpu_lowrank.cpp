// lowrank_linear / lowrank_ffn on the GPU beyond the registry's conformance (which runs each method's default
// params): flashsvd's decode kernel v3 (both roles a block, cooperative grid; docs/perf/flashsvd.md) on the
// conformance shapes it takes and on Llama-2-7B sizes, including a split whose input items outnumber the grid
// (blocks loop over items), against the FP64 reference (the correctness pass), the CPU path and decode v2;
// replays agree with the first run (the kernel leaves its workspace zero); its workspace is T floats a rank
// row; both prefill paths (flashsvd's cluster kernel, flashsvd_ffn's fused middle) against the reference and
// the CPU path, and the FFN's transient bytes. Without a GPU each test skips.
#include <gtest/gtest.h>

#include "harness/check.hpp"
#include "harness/measurement.hpp"
#include "tests/support/gpu.hpp"
#include "tests/support/method_check.hpp"

namespace lrb::test {
namespace {

struct LinearCase {
  const char* name;
  Json values;
};
void PrintTo(const LinearCase& c, std::ostream* os) { *os << c.name; }

std::vector<LinearCase> linear_cases() {
  return {
      {"r1_t1_odd", {{"d_in", 37}, {"d_out", 23}, {"rank", 1}, {"tokens", 1}}},
      {"energy_t7", {{"d_in", 64}, {"d_out", 17}, {"energy", 0.9}, {"tokens", 7}}},
      {"r40_t12", {{"d_in", 300}, {"d_out", 130}, {"rank", 40}, {"tokens", 12}}},
      {"r70_t16", {{"d_in", 1024}, {"d_out", 96}, {"rank", 70}, {"tokens", 16}}},
      {"r600_t9", {{"d_in", 2056}, {"d_out", 2100}, {"rank", 600}, {"tokens", 9}}},
      {"llama_r64_t1", {{"d_in", 4096}, {"d_out", 4096}, {"rank", 64}, {"tokens", 1}}},
      {"llama_r1024_t16", {{"d_in", 4096}, {"d_out", 4096}, {"rank", 1024}, {"tokens", 16}}},
      // 1024 rank rows x 16384 input columns: the input tile is cut to short slices, more items than blocks
      // (d_out 1024: the rank cannot exceed min(d_in, d_out)).
      {"loop_items_r1024_t5", {{"d_in", 16384}, {"d_out", 1024}, {"rank", 1024}, {"tokens", 5}}},
  };
}

// decode v3 of `method` on `values`: passes the correctness pass, agrees with the CPU path and with v2
// within `tol`, and three more launches give the first one's output (a dirty workspace would add the previous
// Z or P into the next).
void expect_v3_agrees(const char* family, const char* method, const Json& values, double tol) {
  const MethodRun v3 = check_method(family, method, values, {{"decode_kernel", "v3"}}, Backend::cuda);
  const MethodRun v2 = check_method(family, method, values, {{"decode_kernel", "v2"}}, Backend::cuda);
  const MethodRun cpu = check_method(family, method, values, Json::object(), Backend::cpu);
  ASSERT_TRUE(v3.support.ok) << v3.support.reason;
  ASSERT_FALSE(v3.check.failure) << *v3.check.failure;
  ASSERT_FALSE(v2.check.failure) << *v2.check.failure;
  ASSERT_FALSE(cpu.check.failure) << *cpu.check.failure;
  const MatrixF& y3 = v3.check.outputs.at(0).values;
  EXPECT_LT(rel_diff(y3, cpu.check.outputs.at(0).values), tol);
  EXPECT_LT(rel_diff(y3, v2.check.outputs.at(0).values), tol);
  for (int i = 0; i < 3; ++i) v3.method->run(*v3.ctx);
  v3.ctx->synchronize();
  const auto again = download_outputs(*v3.method, *v3.ctx);
  EXPECT_LT(rel_diff(again.at(0).values, y3), tol / 2) << "after three more launches";
  EXPECT_EQ(v3.method->metrics().value("decode_kernel", ""), "v3");
  EXPECT_GE(v3.method->metrics().value("grid", 0), 1);
}

class FlashsvdDecodeV3 : public ::testing::TestWithParam<LinearCase> {};

TEST_P(FlashsvdDecodeV3, MatchesTheReferenceTheCpuPathAndV2AndReplaysAlike) {
  REQUIRE_GPU();
  expect_v3_agrees("lowrank_linear", "flashsvd", GetParam().values, 2e-3);
}

INSTANTIATE_TEST_SUITE_P(Gpu, FlashsvdDecodeV3, ::testing::ValuesIn(linear_cases()),
                         [](const auto& info) { return std::string(info.param.name); });

TEST(FlashsvdDecodeV3Memory, TheWorkspaceIsTFloatsARankRow) {
  REQUIRE_GPU();
  const Json values = {{"d_in", 512}, {"d_out", 256}, {"rank", 32}, {"tokens", 3}};
  const MethodRun v3 = check_method("lowrank_linear", "flashsvd", values, {{"decode_kernel", "v3"}}, Backend::cuda);
  ASSERT_FALSE(v3.check.failure) << *v3.check.failure;
  const Json mem = make_measurement(*v3.ctx)->memory(*v3.method);
  // Z^T [32][3] fp32 (96 floats, already a multiple of 4) and two u32 counters.
  EXPECT_EQ(mem["workspace_bytes"].get<std::int64_t>(), 96 * 4 + 2 * 4) << mem.dump();
}

// flashsvd_ffn's decode v3: the conformance shapes with T <= 16 (d_ff not a multiple of 8, a block with one
// d_ff tile and one ring stage, unequal ranks, a down rank over several m-tiles a warp), a real model's widths
// and Llama-2-7B's FFN at ranks 64 and 256 (five and six d_ff tiles a block, a ring of five stages).
std::vector<LinearCase> ffn_cases() {
  return {
      {"r1_t1_odd", {{"d_model", 40}, {"d_ff", 100}, {"rank", 1}, {"tokens", 1}}},
      {"unequal_t12", {{"d_model", 300}, {"d_ff", 333}, {"rank_gate", 20}, {"rank_up", 37}, {"rank_down", 11}, {"tokens", 12}}},
      {"energy_t7", {{"d_model", 48}, {"d_ff", 136}, {"energy", 0.9}, {"tokens", 7}}},
      {"wide_t11", {{"d_model", 320}, {"d_ff", 4500}, {"rank_gate", 150}, {"rank_up", 170}, {"rank_down", 300}, {"tokens", 11}}},
      {"smollm_t16", {{"model", "smollm-135m"}, {"rank", 64}, {"tokens", 16}}},
      {"llama_r64_t1", {{"model", "llama2-7b"}, {"rank", 64}, {"tokens", 1}}},
      {"llama_r256_t16", {{"model", "llama2-7b"}, {"rank", 256}, {"tokens", 16}}},
  };
}

class FlashsvdFfnDecodeV3 : public ::testing::TestWithParam<LinearCase> {};

TEST_P(FlashsvdFfnDecodeV3, MatchesTheReferenceTheCpuPathAndV2AndReplaysAlike) {
  REQUIRE_GPU();
  expect_v3_agrees("lowrank_ffn", "flashsvd_ffn", GetParam().values, 5e-3);
}

INSTANTIATE_TEST_SUITE_P(Gpu, FlashsvdFfnDecodeV3, ::testing::ValuesIn(ffn_cases()),
                         [](const auto& info) { return std::string(info.param.name); });

TEST(FlashsvdFfnDecodeV3Memory, WorkspacesAreTFloatsARankRow) {
  REQUIRE_GPU();
  const Json values = {{"d_model", 300}, {"d_ff", 333}, {"rank_gate", 20}, {"rank_up", 37}, {"rank_down", 11}, {"tokens", 1}};
  const MethodRun v3 = check_method("lowrank_ffn", "flashsvd_ffn", values, {{"decode_kernel", "v3"}}, Backend::cuda);
  ASSERT_FALSE(v3.check.failure) << *v3.check.failure;
  const Json mem = make_measurement(*v3.ctx)->memory(*v3.method);
  // Z^T [57][1] -> 60 floats, P^T [11][1] -> 12 floats, four u32 counters.
  EXPECT_EQ(mem["workspace_bytes"].get<std::int64_t>(), (60 + 12) * 4 + 4 * 4) << mem.dump();
}

// flashsvd's prefill kernel (T > 16, ranks <= 1024, Z shared over a cluster's distributed shared memory): a
// rank below one 8-wide n-tile a CTA, an odd d_out (unpaired stores), a partial token tile, d_in not a multiple
// of the 64-wide K step, a real model's projection, Llama-2-7B's q at ranks 256 and 1024.
std::vector<LinearCase> linear_prefill_cases() {
  return {
      {"r5_t33", {{"d_in", 40}, {"d_out", 72}, {"rank", 5}, {"tokens", 33}}},
      {"odd_dout_t40", {{"d_in", 100}, {"d_out", 23}, {"rank", 7}, {"tokens", 40}}},
      {"r70_t100", {{"d_in", 1000}, {"d_out", 300}, {"rank", 70}, {"tokens", 100}}},
      {"smollm_down_t33", {{"model", "smollm-135m"}, {"projection", "down"}, {"rank", 64}, {"tokens", 33}}},
      {"llama_r256_t300", {{"d_in", 4096}, {"d_out", 4096}, {"rank", 256}, {"tokens", 300}}},
      {"llama_r1024_t128", {{"d_in", 4096}, {"d_out", 4096}, {"rank", 1024}, {"tokens", 128}}},
      // v2's d_in slices: 8 of 128 columns (d_in 1000: the last one 104 columns, not a
      // multiple of 16), r 192 (three 64-wide chunks), d_in < 8 x 64 (CTAs with no K work).
      {"slices_r192_t70", {{"d_in", 1000}, {"d_out", 520}, {"rank", 192}, {"tokens", 70}}},
      {"tiny_din_r24_t20", {{"d_in", 90}, {"d_out", 200}, {"rank", 24}, {"tokens", 20}}},
  };
}

// `method` (with `params`) on the CUDA path at a prefill shape: the correctness pass, the CPU path within `tol`,
// the kernel `kernel` named in its metrics.
void expect_prefill_agrees(const char* family, const char* method, const Json& values, double tol, const char* kernel,
                           const Json& params = Json::object()) {
  const MethodRun gpu = check_method(family, method, values, params, Backend::cuda);
  const MethodRun cpu = check_method(family, method, values, Json::object(), Backend::cpu);
  ASSERT_TRUE(gpu.support.ok) << gpu.support.reason;
  ASSERT_FALSE(gpu.check.failure) << *gpu.check.failure;
  ASSERT_FALSE(cpu.check.failure) << *cpu.check.failure;
  EXPECT_LT(rel_diff(gpu.check.outputs.at(0).values, cpu.check.outputs.at(0).values), tol);
  EXPECT_EQ(gpu.method->metrics().value("kernel", ""), kernel);
}

class FlashsvdPrefill : public ::testing::TestWithParam<LinearCase> {};

TEST_P(FlashsvdPrefill, MatchesTheReferenceAndTheCpuPath) {
  REQUIRE_GPU();
  expect_prefill_agrees("lowrank_linear", "flashsvd", GetParam().values, 2e-3, "prefill_cluster_v1",
                        {{"prefill_kernel", "v1"}});
}

// v2 (phase 1 split over d_in, partials reduced across the cluster): the same shapes, plus the slices' edges.
TEST_P(FlashsvdPrefill, V2MatchesTheReferenceAndTheCpuPath) {
  REQUIRE_GPU();
  expect_prefill_agrees("lowrank_linear", "flashsvd", GetParam().values, 2e-3, "prefill_cluster_v2",
                        {{"prefill_kernel", "v2"}});
}

// The default (auto) takes v2 at ranks <= 128 and v1 above, as measured (methods/flashsvd/flashsvd_cuda.cpp).
TEST(FlashsvdPrefillAuto, TakesV2AtRanksUpTo128AndV1Above) {
  REQUIRE_GPU();
  expect_prefill_agrees("lowrank_linear", "flashsvd", {{"d_in", 256}, {"d_out", 200}, {"rank", 128}, {"tokens", 40}},
                        2e-3, "prefill_cluster_v2");
  expect_prefill_agrees("lowrank_linear", "flashsvd", {{"d_in", 256}, {"d_out", 200}, {"rank", 129}, {"tokens", 40}},
                        2e-3, "prefill_cluster_v1");
}

INSTANTIATE_TEST_SUITE_P(Gpu, FlashsvdPrefill, ::testing::ValuesIn(linear_prefill_cases()),
                         [](const auto& info) { return std::string(info.param.name); });

// flashsvd_ffn's prefill path (T > 16, ranks <= 256): a partial token tile, d_ff not a multiple of the
// 32-row step, unequal and odd ranks (the unaligned staging path), a real model, Llama-2-7B at ranks 64 and 256
// with several d_ff splits a token tile; against the reference (the correctness pass) and the CPU path.
std::vector<LinearCase> ffn_prefill_cases() {
  return {
      {"odd_t33", {{"d_model", 64}, {"d_ff", 72}, {"rank_gate", 5}, {"rank_up", 9}, {"rank_down", 3}, {"tokens", 33}}},
      {"unequal_t100", {{"d_model", 300}, {"d_ff", 333}, {"rank_gate", 20}, {"rank_up", 37}, {"rank_down", 11}, {"tokens", 100}}},
      {"smollm_t17", {{"model", "smollm-135m"}, {"rank", 64}, {"tokens", 17}}},
      {"llama_r64_t128", {{"model", "llama2-7b"}, {"rank", 64}, {"tokens", 128}}},
      {"llama_r256_t200", {{"model", "llama2-7b"}, {"rank", 256}, {"tokens", 200}}},
  };
}

class FlashsvdFfnPrefill : public ::testing::TestWithParam<LinearCase> {};

TEST_P(FlashsvdFfnPrefill, MatchesTheReferenceAndTheCpuPath) {
  REQUIRE_GPU();
  expect_prefill_agrees("lowrank_ffn", "flashsvd_ffn", GetParam().values, 5e-3, "prefill_v1");
}

INSTANTIATE_TEST_SUITE_P(Gpu, FlashsvdFfnPrefill, ::testing::ValuesIn(ffn_prefill_cases()),
                         [](const auto& info) { return std::string(info.param.name); });

// The measured transient bytes are Z, P and P's fp16 copy, far below unfused_lowrank's [T, d_ff] pair.
TEST(FlashsvdFfnPrefillMemory, HoldsTheRankIntermediatesOnlyNotTxDff) {
  REQUIRE_GPU();
  const Json values = {{"d_model", 300}, {"d_ff", 2000}, {"rank", 40}, {"tokens", 256}};
  const MethodRun fused = check_method("lowrank_ffn", "flashsvd_ffn", values, Json::object(), Backend::cuda);
  const MethodRun unfused = check_method("lowrank_ffn", "unfused_lowrank", values, Json::object(), Backend::cuda);
  ASSERT_FALSE(fused.check.failure) << *fused.check.failure;
  ASSERT_FALSE(unfused.check.failure) << *unfused.check.failure;
  const Json mf = make_measurement(*fused.ctx)->memory(*fused.method);
  const Json mu = make_measurement(*unfused.ctx)->memory(*unfused.method);
  // Z [256][80] fp16 + P [256][40] fp32 + P16 [256][40] fp16 (stream-ordered allocations may round up).
  const std::int64_t analytic = 256 * 80 * 2 + 256 * 40 * 4 + 256 * 40 * 2;
  EXPECT_GE(mf["transient_bytes"].get<std::int64_t>(), analytic) << mf.dump();
  EXPECT_LT(mf["transient_bytes"].get<std::int64_t>(), 2 * analytic) << mf.dump();
  EXPECT_LT(mf["transient_bytes"].get<std::int64_t>() * 5, mu["transient_bytes"].get<std::int64_t>()) << mu.dump();
}

}  // namespace
}  // namespace lrb::test
