// Sweep expansion: cartesian products in the order written, zip groups, method parameters as axes.
#include <gtest/gtest.h>

#include "harness/config.hpp"
#include "harness/registry.hpp"
#include "harness/sweep.hpp"
#include "tests/support/fault_methods.hpp"

namespace lrb {
namespace {

Config parse(const std::string& text) {
  auto load = parse_config(text, "test");
  if (!load.config) {
    std::string all;
    for (const auto& e : load.errors) all += e.text() + "\n";
    throw std::runtime_error(all);
  }
  return *load.config;
}

TEST(Sweep, CartesianProductFirstAxisOutermost) {
  const Config c = parse(R"({"name": "s", "task": "adapter_projection",
      "axes": {"K": [1, 2, 3], "batch": [4, 5]}, "methods": ["base_only"]})");
  const auto points = expand_points(c.blocks[0], *Registry::instance().family("adapter_projection"));
  ASSERT_EQ(points.size(), 6u);
  EXPECT_EQ(points[0].id, "K=1,batch=4");
  EXPECT_EQ(points[1].id, "K=1,batch=5");
  EXPECT_EQ(points[5].id, "K=3,batch=5");
  // Unswept parameters take their defaults; swept ones their values.
  EXPECT_EQ(points[5].values["K"], 3);
  EXPECT_EQ(points[5].values["rank"], 16);
  EXPECT_EQ(points[5].values["decay"], 0.5) << "the default generator's parameters are filled in";
}

TEST(Sweep, ZipGroupsMoveTogether) {
  const Config c = parse(R"({"name": "s", "task": "adapter_projection",
      "axes": {"zip": [{"K": [1, 16, 100], "rank": [8, 16, 64]}], "batch": [1, 2]}, "methods": ["base_only"]})");
  const auto points = expand_points(c.blocks[0], *Registry::instance().family("adapter_projection"));
  ASSERT_EQ(points.size(), 6u);
  EXPECT_EQ(points[0].id, "K=1,rank=8,batch=1");
  EXPECT_EQ(points[3].id, "K=16,rank=16,batch=2");
  EXPECT_EQ(points[5].id, "K=100,rank=64,batch=2");
}

TEST(Sweep, NoAxesIsOnePoint) {
  const Config c = parse(R"({"name": "s", "task": "kv_compression", "workload": {"tokens": 5}, "methods": ["identity"]})");
  const auto points = expand_points(c.blocks[0], *Registry::instance().family("kv_compression"));
  ASSERT_EQ(points.size(), 1u);
  EXPECT_EQ(points[0].id, "default");
  EXPECT_EQ(points[0].values["tokens"], 5);
}

TEST(Sweep, GeneratorAsAnAxisTakesEachGeneratorsDefaults) {
  const Config c = parse(R"({"name": "s", "task": "adapter_projection",
      "axes": {"generator": ["gaussian", "shared_subspace"]}, "methods": ["base_only"]})");
  const auto points = expand_points(c.blocks[0], *Registry::instance().family("adapter_projection"));
  ASSERT_EQ(points.size(), 2u);
  EXPECT_FALSE(points[0].values.contains("overlap"));
  EXPECT_EQ(points[1].values["overlap"], 1.0);
}

TEST(Sweep, MethodParamsAsAxes) {
  const Config c = parse(R"({"name": "s", "task": "adapter_projection", "methods": [
      "base_only", {"id": "test_fault", "params": {"mode": "none"}, "axes": {"fail_on_batch": [1, 2, 3]}}]})");
  const auto variants = expand_methods(c.blocks[0]);
  ASSERT_EQ(variants.size(), 4u);
  EXPECT_EQ(variants[0].label, "base_only");
  EXPECT_EQ(variants[1].label, "test_fault[mode=none,fail_on_batch=1]");
  EXPECT_EQ(variants[3].params["fail_on_batch"], 3);
}

TEST(Sweep, BlocksInheritTheConfigMeasure) {
  const Config c = parse(R"({"name": "s", "measure": {"timeout_s": 0.1, "warmup": 1},
      "runs": [{"name": "a", "task": "kv_compression", "methods": ["identity"]},
               {"name": "b", "task": "kv_compression", "methods": ["identity"], "measure": {"warmup": 7}}]})");
  ASSERT_EQ(c.blocks.size(), 2u);
  EXPECT_EQ(c.blocks[0].measure.warmup, 1);
  EXPECT_EQ(c.blocks[1].measure.warmup, 7);
  EXPECT_DOUBLE_EQ(c.blocks[1].measure.timeout_s, 0.1);
}

TEST(Sweep, ConfigHashIgnoresKeyOrderButNotValues) {
  const auto a = parse(R"({"name": "s", "task": "kv_compression", "methods": ["identity"]})");
  const auto b = parse(R"({"methods": ["identity"], "task": "kv_compression", "name": "s"})");
  const auto c = parse(R"({"name": "s", "task": "kv_compression", "methods": ["int8_per_token"]})");
  EXPECT_EQ(a.hash, b.hash);
  EXPECT_NE(a.hash, c.hash);
}

}  // namespace
}  // namespace lrb
