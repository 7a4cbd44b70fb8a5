// GPU tests (ctest label gpu): every CUDA path against its CPU path, the HBM counter path on a 256 MiB
// copy, hot vs cold HBM bytes, the timing modes and device memory accounting. Without a GPU each test
// skips with a message.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>

#include <fmt/format.h>

#include "harness/cuda/cuda_context.hpp"
#include "harness/cuda/device_info.hpp"
#include "harness/cuda/hbm_counters.hpp"
#include "harness/cuda/lt_gemm.hpp"
#include "harness/env.hpp"
#include "harness/measurement.hpp"
#include "kernels/adapter_projection/s2lc.cuh"
#include "tests/support/gpu.hpp"
#include "tests/support/method_check.hpp"
#include "workloads/adapter_projection/method_base.hpp"

namespace lrb::test {
namespace {

// Every CUDA path against its CPU path: test_gpu_conformance.cpp (generated from the registry).

// s2lc: the CUDA kernel against the CPU path, per layout and launch, on shapes that exercise every
// instantiated R, odd d_in slices across the cluster, token chunks (batch > 128), per-token adapters and
// the base+adapter accumulate.
struct S2lcCase {
  const char* name;
  int R;
  Json values;
};
void PrintTo(const S2lcCase& c, std::ostream* os) { *os << c.name; }

std::vector<S2lcCase> s2lc_cases() {
  return {
      {"odd_R8_identical", 8, {{"d_in", 37}, {"d_out", 24}, {"K", 3}, {"rank", 2}, {"batch", 5}, {"popularity", "identical"}}},
      {"distinct_R16", 16, {{"d_in", 200}, {"d_out", 72}, {"K", 9}, {"rank", 4}, {"batch", 7}, {"popularity", "distinct"},
                            {"mode", "adapter-only"}}},
      {"chunked_R16", 16, {{"d_in", 64}, {"d_out", 48}, {"K", 5}, {"rank", 8}, {"batch", 300}, {"popularity", "zipf"}}},
      {"smollm_R32", 32, {{"model", "smollm-135m"}, {"K", 4}, {"rank", 16}, {"batch", 33}}},
      {"chunked_R64", 64, {{"d_in", 128}, {"d_out", 96}, {"K", 3}, {"rank", 16}, {"batch", 70}, {"mode", "adapter-only"}}},
  };
}

class S2lcCudaVsCpu : public ::testing::TestWithParam<std::tuple<std::string, std::string, S2lcCase>> {};

TEST_P(S2lcCudaVsCpu, SameOutputWithinFp16) {
  REQUIRE_GPU();
  const auto& [layout, launch, c] = GetParam();
  Json values = c.values;
  values["projections"] = {"q", "v"};
  values["layers"] = 2;
  values["generator"] = "trained_like";
  values["seed"] = 9;
  const Json params = {{"basis_rank", c.R}, {"layout", layout}, {"launch", launch}};
  const MethodRun cpu = check_method("adapter_projection", "s2lc", values, params, Backend::cpu);
  const MethodRun gpu = check_method("adapter_projection", "s2lc", values, params, Backend::cuda);
  ASSERT_TRUE(cpu.support.ok && gpu.support.ok) << cpu.support.reason << gpu.support.reason;
  ASSERT_FALSE(gpu.check.failure) << *gpu.check.failure;
  EXPECT_EQ(gpu.check.fidelity["nonfinite_elements"].get<long>(), 0);
  const auto& yc = cpu.check.outputs;
  const auto& yg = gpu.check.outputs;
  ASSERT_EQ(yc.size(), yg.size());
  for (std::size_t i = 0; i < yc.size(); ++i) {
    EXPECT_LT(rel_diff(yg[i].values, yc[i].values), 2e-3) << "projection " << i;
    // The seed's test 2: the fused kernel against an FP32 reference of the same (compressed) computation.
    EXPECT_LT((yg[i].values - yc[i].values).cwiseAbs().maxCoeff(), 0.05f) << "projection " << i;
  }
  // Same stored bytes on both paths, except the CUDA path's 16-byte alignment of each adapter's code.
  EXPECT_EQ(gpu.footprint.components.at("shared_bases"), cpu.footprint.components.at("shared_bases"));
}

INSTANTIATE_TEST_SUITE_P(Gpu, S2lcCudaVsCpu,
                         ::testing::Combine(::testing::Values("u8x2", "packed", "fp16"),  // kS2lcLayouts
                                            ::testing::Values("grouped", "per_projection"),
                                            ::testing::ValuesIn(s2lc_cases())),
                         [](const auto& info) {
                           return std::get<0>(info.param) + "_" + std::get<1>(info.param) + "_" +
                                  std::get<2>(info.param).name;
                         });

// ---- Measurement -------------------------------------------------------------------------------------

// More instances of `method` with default parameters, prepared on the run's problem and context (graph mode
// rotates among them).
PreparedCopyFactory prepared_copies(const MethodRun& run, const std::string& method) {
  const MethodInfo& info = *Registry::instance().method(method);
  return [&run, &info] {
    auto c = info.make(Params(with_defaults(info.params, Json::object())), Backend::cuda);
    c->prepare(*run.problem, *run.ctx);
    return c;
  };
}

// A method that copies `bytes` device to device: the counter path's calibration.
class DeviceCopy final : public Method {
 public:
  explicit DeviceCopy(std::size_t bytes) : src_(bytes), dst_(bytes) {}
  void prepare(const Problem&, ExecContext& ctx) override {
    ctx_ = &cuda::cuda_context(ctx);
    LRB_CUDA_CHECK(cudaMemsetAsync(src_.data(), 3, src_.bytes(), ctx_->stream()));
  }
  void run(ExecContext&) override {
    LRB_CUDA_CHECK(cudaMemcpyAsync(dst_.data(), src_.data(), src_.bytes(), cudaMemcpyDeviceToDevice, ctx_->stream()));
  }
  Footprint footprint() const override { return {{{"buffers", 2 * src_.bytes()}}}; }
  std::vector<OutputView> outputs() override { return {}; }

 private:
  cuda::CudaContext* ctx_ = nullptr;
  cuda::DeviceBuffer<unsigned char> src_, dst_;
};

TEST(HbmCounters, CopyOf256MiBReadsAndWritesItsBytes) {
  REQUIRE_GPU();
  auto ctx = make_device_context();
  const double bytes = 256.0 * (1 << 20);
  DeviceCopy copy(static_cast<std::size_t>(bytes));
  Problem none;
  copy.prepare(none, *ctx);
  const Json hbm = make_measurement(*ctx)->hbm(copy, "test/copy/256MiB", true);
  ASSERT_TRUE(hbm["available"].get<bool>()) << hbm["note"];
  EXPECT_NEAR(hbm["read_bytes"].get<double>(), bytes, 0.03 * bytes) << hbm.dump();
  EXPECT_NEAR(hbm["write_drained_bytes"].get<double>(), bytes, 0.03 * bytes) << hbm.dump();
  EXPECT_LE(hbm["write_bytes"].get<double>(), hbm["write_drained_bytes"].get<double>());
  std::cout << "256 MiB copy: " << hbm.dump() << "\n";
}

TEST(HbmCounters, HotReadsAlmostNothingOfAWeightColdReadsInFull) {
  REQUIRE_GPU();
  // One 4096 x 4096 fp16 projection (32 MiB), one token: fits in an H100/H200 L2.
  const Json values = {{"model", "llama2-7b"}, {"projections", {"q"}}, {"layers", 1}, {"K", 1}, {"rank", 1},
                       {"batch", 1}, {"generator", "gaussian"}};
  const MethodRun run = check_method("adapter_projection", "base_only", values, Json::object(), Backend::cuda);
  ASSERT_FALSE(run.check.failure);
  auto& ctx = cuda::cuda_context(*run.ctx);
  const double weight = 4096.0 * 4096 * 2;
  const Json cold = make_measurement(ctx)->hbm(*run.method, "test/cold", true);
  ASSERT_TRUE(cold["available"].get<bool>()) << cold["note"];
  EXPECT_GT(cold["read_bytes"].get<double>(), 0.97 * weight) << cold.dump();
  // Hot: the weight was just read (no flush before the counted run).
  run.method->run(ctx);
  ctx.synchronize();
  auto& res = cuda::MeasurementResources::instance();
  const Json hot = cuda::HbmProfiler::instance().measure([] {}, [&] { run.method->run(ctx); },
                                                         [&] { res.flush_l2(ctx.stream()); },
                                                         [&] { ctx.synchronize(); });
  ASSERT_TRUE(hot["available"].get<bool>());
  // "~0": activations, output and cuBLAS's own reads remain; the weight itself comes from L2.
  EXPECT_LT(hot["read_bytes"].get<double>(), 0.10 * weight) << hot.dump();
  std::cout << "cold read " << cold["read_bytes"] << " B, hot read " << hot["read_bytes"] << " B\n";
}

TEST(S2lcKernel, NoInstantiationSpillsToLocalMemory) {
  REQUIRE_GPU();
  for (int R : kernels::kS2lcRankList)
    for (auto layout : kernels::kS2lcLayouts)
      EXPECT_EQ(kernels::s2lc_local_memory_bytes(R, layout), 0u) << "R=" << R << " layout " << static_cast<int>(layout);
}

TEST(HbmCounters, S2lcWritesItsOutputAndLittleElse) {
  REQUIRE_GPU();
  // 16 Llama-2-7B projections, adapter-only, 64 tokens on distinct adapters: 8 MiB of output. T = X V stays
  // in shared memory, so drained writes should be the output (the seed's test 3), within the counter path's
  // reproduction error (the 256 MiB copy test above).
  const Json values = {{"model", "llama2-7b"}, {"layers", 4}, {"K", 64}, {"rank", 16}, {"batch", 64},
                       {"popularity", "distinct"}, {"mode", "adapter-only"}, {"generator", "gaussian"}};
  const MethodRun run = check_method("adapter_projection", "s2lc", values, Json::object(), Backend::cuda);
  ASSERT_FALSE(run.check.failure);
  const Json hbm = make_measurement(*run.ctx)->hbm(*run.method, "test/s2lc/writes", true);
  ASSERT_TRUE(hbm["available"].get<bool>()) << hbm["note"];
  const double out = 16.0 * 64 * 4096 * 2;
  // Net of the counter path's own drained writes (measured around no work; ~4.8 MB on the H200).
  ASSERT_TRUE(hbm.contains("write_drained_net_bytes")) << hbm.dump();
  EXPECT_GT(hbm["write_drained_net_bytes"].get<double>(), 0.95 * out) << hbm.dump();
  EXPECT_LT(hbm["write_drained_net_bytes"].get<double>(), 1.05 * out) << hbm.dump();
  std::cout << "s2lc output " << out << " B, drained writes " << hbm["write_drained_bytes"] << " B, net "
            << hbm["write_drained_net_bytes"] << " B (idle " << hbm["idle"].dump() << ")\n";
}

// base_only on llama2-7b q projections (one layer), timed in each mode on the CUDA backend.
struct ModeTimings {
  MethodRun run;
  std::map<std::string, TimingResult> by_mode;
};
ModeTimings time_base_only(const Json& projections, int batch, int min_samples) {
  const Json values = {{"model", "llama2-7b"}, {"projections", projections}, {"layers", 1}, {"K", 1}, {"rank", 1},
                       {"batch", batch}, {"generator", "gaussian"}};
  ModeTimings t{check_method("adapter_projection", "base_only", values, Json::object(), Backend::cuda), {}};
  if (t.run.check.failure) throw std::runtime_error(*t.run.check.failure);
  MeasureOptions m;
  m.warmup = 3;
  m.min_samples = min_samples;
  m.timeout_s = 2;
  const PreparedCopyFactory copy = prepared_copies(t.run, "base_only");
  for (const char* mode : {"hot", "cold", "graph"}) {
    m.mode = mode;
    t.by_mode[mode] = make_measurement(*t.run.ctx)->time(*t.run.method, m, copy);
    std::cout << mode << ": median " << t.by_mode[mode].stats.median * 1e6 << " us, stdrel "
              << t.by_mode[mode].stats.stdrel << "; " << t.by_mode[mode].note << "\n";
  }
  return t;
}

TEST(Timing, ModesProduceLabelledStableSamples) {
  REQUIRE_GPU();
  const ModeTimings t = time_base_only({"q", "k", "v", "o"}, 16, 10);
  const auto& r = t.by_mode;
  for (const auto& [mode, result] : r) {
    EXPECT_EQ(result.mode, mode);
    EXPECT_EQ(result.clock, "cuda_event");
    EXPECT_GT(result.stats.median, 0.0);
    EXPECT_GE(result.stats.n, 10u);
    EXPECT_TRUE(result.extra.contains("clocks"));
  }
  // 4 x 32 MiB of weights, more than L2: one graph copy suffices, and no mode can beat HBM.
  EXPECT_GE(r.at("graph").extra["graph"]["copies"].get<int>(), 1);
  // Bandwidth sanity: 128 MiB in graph mode cannot beat 5 TB/s (H200 peak 4.8) nor be slower than 0.5 TB/s.
  const double bw = 4.0 * 4096 * 4096 * 2 / r.at("graph").stats.median;
  EXPECT_LT(bw, 5e12);
  EXPECT_GT(bw, 0.5e12);
}

TEST(Timing, HotIsFasterThanColdWhenTheWeightFitsInL2) {
  REQUIRE_GPU();
  // One 32 MiB projection fits in L2: hot reruns read it from L2, cold ones from HBM; graph mode rotates
  // enough copies that its replays read HBM too.
  const ModeTimings t = time_base_only({"q"}, 16, 20);
  const auto& r = t.by_mode;
  EXPECT_LT(r.at("hot").stats.median, r.at("cold").stats.median);
  EXPECT_GE(r.at("graph").extra["graph"]["copies"].get<int>(), 3) << "2 x L2 / 32 MiB + 1 copies";
  std::cout << "GEMM plans: " << cuda::gemm_plans_json().dump() << "\n";
}

TEST(DeviceMemory, TwoGemmIntermediateIsTransient) {
  REQUIRE_GPU();
  const Json values = {{"d_in", 512}, {"d_out", 256}, {"rank", 32}, {"tokens", 100}};
  const MethodRun run = check_method("lowrank_linear", "two_gemm", values, Json::object(), Backend::cuda);
  ASSERT_FALSE(run.check.failure);
  const Json mem = make_measurement(*run.ctx)->memory(*run.method);
  EXPECT_EQ(mem["transient_bytes"].get<std::int64_t>(), 100 * 32 * 2) << mem.dump();
  EXPECT_EQ(mem["stored_bytes"].get<std::uint64_t>(), 2u * 32 * (512 + 256));
}

TEST(Environment, DescribesTheGpu) {
  REQUIRE_GPU();
  const Json env = capture_environment(Backend::cuda);
  EXPECT_FALSE(env["gpu"].get<std::string>().empty());
  EXPECT_GT(env["sm_count"].get<int>(), 0);
  EXPECT_GT(env["l2_bytes"].get<std::size_t>(), 0u);
  std::cout << env.dump() << "\n";
}

}  // namespace
}  // namespace lrb::test
