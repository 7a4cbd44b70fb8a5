// kv_compression on the GPU beyond the registry's conformance (ctest label gpu): kvtc's fused per_head
// kernels (kPerHeadKernelLabel) on shapes they take (head_dim 32/64/128, NeoX and interleaved RoPE, partial rotary dims,
// partial tiles; keys whose rotary dims are not a multiple of 16 fall back to v1), against the CPU path and the unfused v1 CUDA path; the CUDA blob decoded by the CPU
// decoder; and every baseline's blob byte for byte against its CPU path's. Without a GPU each test skips.
#include <gtest/gtest.h>

#include "harness/check.hpp"
#include "kernels/kv_compression/kvtc_per_head.cuh"
#include "methods/kvtc/kvtc_codec.hpp"
#include "methods/kvtc/kvtc_method.hpp"
#include "tests/support/gpu.hpp"
#include "tests/support/method_check.hpp"
#include "workloads/kv_compression/method_base.hpp"

namespace lrb::test {
namespace {

struct KvCase {
  const char* name;
  Json values;
  const char* key_kernel = kernels::kvtc::kPerHeadKernelLabel;  // values always take the fused kernels on these shapes
};
void PrintTo(const KvCase& c, std::ostream* os) { *os << c.name; }

std::vector<KvCase> per_head_cases() {
  return {
      {"d64_interleaved_partial",
       {{"model", "tiny"}, {"tokens", 300}, {"layers", 2}, {"heads", 3}, {"head_dim", 64}, {"rotary_dims", 32},
        {"rope_style", "interleaved"}, {"calibration_tokens", 256}}},
      {"d128_neox_two_tiles", {{"model", "tiny"}, {"tokens", 271}, {"layers", 1}, {"heads", 2}, {"head_dim", 128},
                               {"calibration_tokens", 300}}},
      {"d32_one_coded_token", {{"model", "tiny"}, {"tokens", 133}, {"layers", 2}, {"heads", 2}, {"head_dim", 32}}},
      {"d64_neox_partial", {{"model", "tiny"}, {"tokens", 400}, {"layers", 2}, {"heads", 2}, {"head_dim", 64},
                            {"rotary_dims", 32}, {"calibration_tokens", 256}}},
      {"d64_neox_rot24_keys_unfused",
       {{"model", "tiny"}, {"tokens", 300}, {"layers", 1}, {"heads", 2}, {"head_dim", 64}, {"rotary_dims", 24}},
       "unfused_v1"},
  };
}

class KvtcPerHeadFused : public ::testing::TestWithParam<std::tuple<KvCase, std::string>> {};

TEST_P(KvtcPerHeadFused, MatchesTheCpuPathAndTheUnfusedKernelsAndDecodesOnTheCpu) {
  REQUIRE_GPU();
  const auto& [c, allocation] = GetParam();
  const Json params = {{"mode", "per_head"}, {"ratio", 6}, {"allocation", allocation}};
  Json unfused_params = params;
  unfused_params["cuda_kernel"] = "unfused";
  const MethodRun fused = check_method("kv_compression", "kvtc", c.values, params, Backend::cuda);
  const MethodRun unfused = check_method("kv_compression", "kvtc", c.values, unfused_params, Backend::cuda);
  const MethodRun cpu = check_method("kv_compression", "kvtc", c.values, params, Backend::cpu);
  ASSERT_TRUE(fused.support.ok) << fused.support.reason;
  ASSERT_FALSE(fused.check.failure) << *fused.check.failure;
  ASSERT_FALSE(unfused.check.failure) << *unfused.check.failure;
  ASSERT_FALSE(cpu.check.failure) << *cpu.check.failure;
  const Json m = fused.method->metrics();
  EXPECT_EQ(m["cuda_kernels"]["keys"], c.key_kernel) << m.dump();
  EXPECT_EQ(m["cuda_kernels"]["values"], kernels::kvtc::kPerHeadKernelLabel);
  EXPECT_EQ(unfused.method->metrics()["cuda_kernels"]["keys"], "unfused_v1");
  for (std::size_t i = 0; i < 2; ++i) {
    EXPECT_LT(rel_diff(fused.check.outputs[i].values, cpu.check.outputs[i].values), 5e-3) << fused.check.outputs[i].name;
    EXPECT_LT(rel_diff(fused.check.outputs[i].values, unfused.check.outputs[i].values), 5e-3);
  }
  auto& mf = dynamic_cast<KvCompressionMethod&>(*fused.method);
  auto& mc = dynamic_cast<KvCompressionMethod&>(*cpu.method);
  EXPECT_EQ(mf.sizes().blob_bytes, mc.sizes().blob_bytes);

  // The CUDA blob through the CPU decoder (the artifact is deterministic: calibrated again here).
  const auto& problem = static_cast<const KvProblem&>(*fused.problem);
  const kvtc::Calibrated cal = kvtc::calibrate_artifact(problem, kvtc::Settings(Params(with_defaults(
                                                                    fused.info->params, params))));
  KvTensor keys(problem.keys.layers, problem.keys.tokens, problem.keys.heads, problem.keys.head_dim), values = keys;
  const std::vector<std::uint8_t> blob = mf.blob_on_host(*fused.ctx);
  ASSERT_NO_THROW(kvtc::decode_blob(blob, problem.rope, cal.art, keys, values));
  for (int which = 0; which < 2; ++which) {
    const KvTensor& t = which == 0 ? keys : values;
    const MatrixF& gpu = fused.check.outputs[which].values;
    MatrixF host(gpu.rows(), gpu.cols());
    for (Eigen::Index r = 0; r < host.rows(); ++r)
      for (Eigen::Index k = 0; k < host.cols(); ++k)
        host(r, k) = static_cast<float>(t.data[static_cast<std::size_t>(r * host.cols() + k)]);
    EXPECT_LT(rel_diff(host, gpu), 2e-3) << (which == 0 ? "keys" : "values") << ": the CPU's decoding of the CUDA blob";
  }

  // And the reverse: the CPU's blob through the fused CUDA decoder.
  mf.blob_from_host(*fused.ctx, mc.blob_on_host(*cpu.ctx));
  mf.decompress(*fused.ctx);
  fused.ctx->synchronize();
  const std::vector<HostOutput> back = download_outputs(mf, *fused.ctx);
  for (std::size_t i = 0; i < 2; ++i)
    EXPECT_LT(rel_diff(back[i].values, cpu.check.outputs[i].values), 2e-3) << back[i].name << ": the CPU blob on the GPU";
}

INSTANTIATE_TEST_SUITE_P(Gpu, KvtcPerHeadFused,
                         ::testing::Combine(::testing::ValuesIn(per_head_cases()), ::testing::Values("dp", "greedy_seed")),
                         [](const auto& info) {
                           return std::string(std::get<0>(info.param).name) + "_" + std::get<1>(info.param);
                         });

// The baselines' CUDA paths write the CPU path's blob byte for byte, on shapes where they quantize (the
// registry's conformance shapes keep kivi's tokens all raw): per-channel key groups whose runs end mid-byte
// (group 5 at 2 bits), per-token groups that do not divide the width, fp8 with several layers, and each of
// the one-pass kernels' shapes.
struct BaselineCase {
  const char* name;
  const char* method;
  Json params, values;
};
void PrintTo(const BaselineCase& c, std::ostream* os) { *os << c.name; }

std::vector<BaselineCase> baseline_cases() {
  const Json odd = {{"model", "tiny"}, {"tokens", 203}, {"layers", 2}, {"heads", 3}, {"head_dim", 6}};
  const Json llama_like = {{"model", "tiny"}, {"tokens", 300}, {"layers", 2}, {"heads", 4}, {"head_dim", 64}};
  const Json partial_warp = {{"model", "tiny"}, {"tokens", 203}, {"layers", 1}, {"heads", 3}, {"head_dim", 16}};
  return {
      {"kivi2_g32", "kivi", {{"bits", 2}, {"group", 32}}, llama_like},
      {"kivi4_g5_odd", "kivi", {{"bits", 4}, {"group", 5}}, odd},
      {"kivi2_g5_odd_run", "kivi", {{"bits", 2}, {"group", 5}, {"residual", 64}}, odd},
      {"int4_g128", "int4_per_token", {{"group", 128}}, llama_like},
      {"int4_g7_odd", "int4_per_token", {{"group", 7}}, odd},
      // group_vector.cu's one-pass kernels: per-channel groups of 4k tokens (any width), per-token groups of
      // 8-256 channels dividing the width, a last warp only partly live (1218 runs of 8 channels).
      {"kivi4_g128_vector", "kivi", {{"bits", 4}, {"group", 128}}, llama_like},
      {"kivi2_g4_vector_keys", "kivi", {{"bits", 2}, {"group", 4}, {"residual", 16}}, odd},
      {"int4_g16_partial_warp", "int4_per_token", {{"group", 16}}, partial_warp},
      {"int4_g32", "int4_per_token", {{"group", 32}}, llama_like},
      {"fp8", "fp8_e4m3", Json::object(), llama_like},
      {"fp8_odd", "fp8_e4m3", Json::object(), odd},
  };
}

class BaselineBlobs : public ::testing::TestWithParam<BaselineCase> {};

TEST_P(BaselineBlobs, CudaBlobIsTheCpuBlobByteForByte) {
  REQUIRE_GPU();
  const BaselineCase& c = GetParam();
  const MethodRun gpu = check_method("kv_compression", c.method, c.values, c.params, Backend::cuda);
  const MethodRun cpu = check_method("kv_compression", c.method, c.values, c.params, Backend::cpu);
  ASSERT_TRUE(gpu.support.ok) << gpu.support.reason;
  ASSERT_FALSE(gpu.check.failure) << *gpu.check.failure;
  ASSERT_FALSE(cpu.check.failure) << *cpu.check.failure;
  auto& mg = dynamic_cast<KvCompressionMethod&>(*gpu.method);
  auto& mc = dynamic_cast<KvCompressionMethod&>(*cpu.method);
  const auto bg = mg.blob_on_host(*gpu.ctx), bc = mc.blob_on_host(*cpu.ctx);
  ASSERT_EQ(bg.size(), bc.size());
  std::size_t first_diff = bg.size();
  for (std::size_t i = 0; i < bg.size() && first_diff == bg.size(); ++i)
    if (bg[i] != bc[i]) first_diff = i;
  EXPECT_EQ(first_diff, bg.size()) << "first differing byte of " << bg.size();
  for (std::size_t i = 0; i < 2; ++i)
    EXPECT_EQ(rel_diff(gpu.check.outputs[i].values, cpu.check.outputs[i].values), 0.0) << gpu.check.outputs[i].name;
  EXPECT_GT(gpu.check.fidelity["rel_error"].get<double>(), 0.0) << "nothing was quantized";
}

INSTANTIATE_TEST_SUITE_P(Gpu, BaselineBlobs, ::testing::ValuesIn(baseline_cases()),
                         [](const auto& info) { return std::string(info.param.name); });

}  // namespace
}  // namespace lrb::test
