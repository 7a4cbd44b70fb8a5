// kv_compression CPU methods: identity is bit-exact; int8_per_token's error stays within its quantization
// step; blobs have the exact sizes of their layouts; one token and odd head_dim work.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>

#include "tests/support/method_check.hpp"
#include "workloads/kv_compression/blob.hpp"
#include "workloads/kv_compression/method_base.hpp"

namespace lrb::test {
namespace {

struct KvShape {
  const char* name;
  Json values;
};

std::vector<KvShape> shapes() {
  return {
      {"tiny_one_token", {{"model", "tiny"}, {"tokens", 1}}},                      // head_dim 10, 2 heads
      {"tiny_odd_tokens", {{"model", "tiny"}, {"tokens", 37}, {"generator", "gaussian"}}},
      {"partial_rope_interleaved",
       {{"model", "tiny"}, {"tokens", 13}, {"rotary_dims", 6}, {"rope_style", "interleaved"}}},
      {"smollm_structured", {{"model", "smollm-135m"}, {"layers", 2}, {"tokens", 40}}},
  };
}

class KvMethods : public ::testing::TestWithParam<std::tuple<std::string, KvShape>> {};

TEST_P(KvMethods, RestoreTheCache) {
  const auto& [method, shape] = GetParam();
  const MethodRun r = check_method("kv_compression", method, shape.values);
  ASSERT_TRUE(r.support.ok);
  EXPECT_FALSE(r.check.failure) << *r.check.failure;
  const Json& f = r.check.fidelity;
  const auto& p = static_cast<const KvProblem&>(*r.problem);
  auto& m = dynamic_cast<KvCompressionMethod&>(*r.method);
  const std::size_t vectors = static_cast<std::size_t>(p.keys.layers) * p.keys.tokens;
  if (method == "identity") {
    EXPECT_EQ(f["rel_error"].get<double>(), 0.0);
    EXPECT_TRUE(f["raw_tokens_bit_exact"].get<bool>());
    EXPECT_EQ(f["raw_tokens"], p.keys.tokens);
    EXPECT_EQ(m.sizes().blob_bytes, sizeof(KvBlobHeader) + p.original_bytes());
  } else {
    EXPECT_GT(f["rel_error"].get<double>(), 0.0);
    EXPECT_LT(f["rel_error"].get<double>(), 0.03) << f.dump();
    EXPECT_GT(f["k_cosine"].get<double>(), 0.999);
    // Layout: header, per tensor one fp16 scale per (layer, token) and one byte per element.
    EXPECT_EQ(m.sizes().blob_bytes, sizeof(KvBlobHeader) + 2 * (vectors * 2 + p.keys.size()));
    // Every element within half a quantization step (plus fp16 rounding of the restored value).
    const MatrixF& kr = r.check.outputs.at(0).values;
    for (std::size_t v = 0; v < vectors; ++v) {
      float amax = 0;
      for (std::size_t i = 0; i < p.keys.token_width(); ++i)
        amax = std::max(amax, std::abs(static_cast<float>(p.keys.data[v * p.keys.token_width() + i])));
      const float step = amax / 127.0f;
      for (std::size_t i = 0; i < p.keys.token_width(); ++i) {
        const std::size_t at = v * p.keys.token_width() + i;
        const float orig = static_cast<float>(p.keys.data[at]);
        EXPECT_LE(std::abs(kr.data()[at] - orig), 0.5f * step * 1.01f + 1e-3f * std::abs(orig))
            << "vector " << v << " element " << i;
      }
    }
  }
  if (p.queries.tokens > 0) {
    ASSERT_TRUE(f.contains("attention"));
    EXPECT_LE(f["attention"]["output_rel_error"].get<double>(), method == "identity" ? 0.0 : 0.05);
    EXPECT_GE(f["attention"]["kl_mean"].get<double>(), 0.0);
  }
  EXPECT_EQ(f["k_rel_error_per_layer"].size(), static_cast<std::size_t>(p.keys.layers));
}

INSTANTIATE_TEST_SUITE_P(Cpu, KvMethods,
                         ::testing::Combine(::testing::Values("identity", "int8_per_token"), ::testing::ValuesIn(shapes())),
                         [](const auto& info) { return std::get<0>(info.param) + "_" + std::get<1>(info.param).name; });

TEST(KvMethods, PhasesReproduceRun) {
  const MethodRun r = check_method("kv_compression", "int8_per_token", {{"model", "tiny"}, {"tokens", 5}});
  auto& m = dynamic_cast<KvCompressionMethod&>(*r.method);
  const MatrixF first = r.check.outputs.at(0).values;
  for (const auto& v : m.outputs()) std::memset(v.data, 0xFF, v.bytes());  // poison, as the check does
  for (auto& phase : m.phases()) phase.run(*r.ctx);
  EXPECT_EQ(first, download_outputs(m, *r.ctx).at(0).values);
  ASSERT_EQ(m.phases().size(), 2u);
  EXPECT_EQ(m.phases()[0].name, "compress");
}

TEST(KvCompression, BlobSizesExistAfterTheRunOnly) {
  // The post-run hook measures the blob (an entropy coder's length is known only then); reading the sizes
  // before it is a programming error, not a silent zero.
  const TaskFamily& family = *Registry::instance().family("kv_compression");
  const Point point = make_point("kv_compression", {{"model", "tiny"}, {"tokens", 9}});
  const auto problem = family.make_problem(point);
  ExecContext ctx(Backend::cpu);
  auto m = Registry::instance().method("int8_per_token")->make(Params(), Backend::cpu);
  m->prepare(*problem, ctx);
  auto& kv = dynamic_cast<KvCompressionMethod&>(*m);
  EXPECT_THROW(kv.sizes(), std::logic_error);
  m->run(ctx);
  m->after_run(ctx);
  EXPECT_GT(kv.sizes().blob_bytes, 0u);
  EXPECT_GE(kv.sizes().capacity_bytes, kv.sizes().blob_bytes);
}

TEST(KvCompression, RatiosCountEverything) {
  const MethodRun r = check_method("kv_compression", "int8_per_token", {{"model", "tiny"}, {"tokens", 16}});
  const Json c = Registry::instance().family("kv_compression")->compression(*r.problem, *r.info, *r.method);
  const auto& p = static_cast<const KvProblem&>(*r.problem);
  EXPECT_DOUBLE_EQ(c["ratio"].get<double>(), static_cast<double>(p.original_bytes()) / c["blob_bytes"].get<double>());
  EXPECT_LT(c["ratio"].get<double>(), 2.0) << "headers and scales are counted";
  EXPECT_EQ(c["coded_tokens"], 16);
  const MethodRun id = check_method("kv_compression", "identity", {{"model", "tiny"}, {"tokens", 16}});
  const Json ci = Registry::instance().family("kv_compression")->compression(*id.problem, *id.info, *id.method);
  EXPECT_TRUE(ci["ratio_coded"].is_null()) << "identity codes no token";
  EXPECT_LT(ci["ratio"].get<double>(), 1.0);
}

}  // namespace
}  // namespace lrb::test
