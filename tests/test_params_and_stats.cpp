// Parameter checking, statistics, host allocation counting, stable hashing.
#include <gtest/gtest.h>

#include <vector>

#include "harness/hash.hpp"
#include "harness/host_memory.hpp"
#include "harness/measurement.hpp"
#include "harness/method.hpp"
#include "harness/params.hpp"
#include "harness/stats.hpp"

namespace lrb {
namespace {

TEST(ParamCheck, IntegerBoundsAndTypes) {
  ParamSpec s{"K", ParamType::integer, 1, "", 1.0, {}, {}};
  EXPECT_FALSE(check_param_value(s, 3));
  EXPECT_TRUE(check_param_value(s, 0));
  EXPECT_TRUE(check_param_value(s, -2));
  EXPECT_TRUE(check_param_value(s, 2.5));
  EXPECT_TRUE(check_param_value(s, "3"));
}

TEST(ParamCheck, StringChoicesAndLists) {
  ParamSpec s{"p", ParamType::string, "a", "", {}, {}, {"a", "b"}};
  EXPECT_FALSE(check_param_value(s, "b"));
  EXPECT_TRUE(check_param_value(s, "c"));
  ParamSpec l{"l", ParamType::string_list, Json::array({"a"}), "", {}, {}, {"a", "b"}};
  EXPECT_FALSE(check_param_value(l, Json::array({"a", "b"})));
  EXPECT_TRUE(check_param_value(l, Json::array()));
  EXPECT_TRUE(check_param_value(l, Json::array({"a", "z"})));
}

TEST(ParamCheck, DefaultsFilled) {
  ParamSpecs specs = {{"a", ParamType::integer, 1, "", {}, {}, {}}, {"b", ParamType::string, "x", "", {}, {}, {}}};
  const Json r = with_defaults(specs, {{"b", "y"}});
  EXPECT_EQ(r["a"], 1);
  EXPECT_EQ(r["b"], "y");
}

TEST(Stats, QuartilesAndNoise) {
  const SampleStats s = summarize({5, 1, 4, 2, 3});
  EXPECT_EQ(s.n, 5u);
  EXPECT_DOUBLE_EQ(s.median, 3);
  EXPECT_DOUBLE_EQ(s.q1, 2);
  EXPECT_DOUBLE_EQ(s.q3, 4);
  EXPECT_DOUBLE_EQ(s.min, 1);
  EXPECT_DOUBLE_EQ(s.max, 5);
  EXPECT_NEAR(s.stdrel, 1.5811388300841898 / 3.0, 1e-12);
  EXPECT_DOUBLE_EQ(summarize({2, 2, 2}).stdrel, 0.0);
}

TEST(Stats, EvenCountInterpolates) {
  const SampleStats s = summarize({1, 2, 3, 4});
  EXPECT_DOUBLE_EQ(s.median, 2.5);
  EXPECT_DOUBLE_EQ(s.q1, 1.75);
}

TEST(HostMemory, CountsAllocationsAndPeak) {
#if !LRBENCH_COUNTS_HOST_ALLOCATIONS
  GTEST_SKIP() << "built with LRBENCH_COUNT_HOST_ALLOCATIONS=OFF (sanitizer builds: ASan owns malloc)";
#endif
  ASSERT_TRUE(host_memory::counting()) << "the test binary links the allocation counter";
  host_memory::reset_peak();
  const auto before = host_memory::current_bytes();
  {
    std::vector<char> big(8 << 20, 1);
    EXPECT_GE(host_memory::current_bytes() - before, 8 << 20);
  }
  EXPECT_GE(host_memory::peak_bytes() - before, 8 << 20);
  EXPECT_LT(host_memory::current_bytes() - before, 1 << 20);
}

TEST(Hash, StableFingerprint) {
  EXPECT_EQ(hex64(fnv1a64("")), "cbf29ce484222325");
  EXPECT_EQ(hex64(fnv1a64("a")), "af63dc4c8601ec8c");
}

// A method whose run allocates `run_bytes` through the counter and keeps `workspace` bytes of scratch
// resident from prepare: the memory pass charges both to the run.
class ScratchMethod final : public Method {
 public:
  ScratchMethod(std::int64_t* level, std::int64_t* peak, std::int64_t run_bytes, std::uint64_t workspace)
      : level_(level), peak_(peak), run_bytes_(run_bytes), workspace_(workspace) {}
  void prepare(const Problem&, ExecContext&) override {}
  void run(ExecContext&) override {
    *level_ += run_bytes_;
    *peak_ = std::max(*peak_, *level_);
    *level_ -= run_bytes_;
  }
  std::vector<OutputView> outputs() override { return {}; }
  Footprint footprint() const override { return {{{"weights", 1000}}}; }
  Footprint workspace() const override {
    if (workspace_ == 0) return {};
    return {{{"reduction", workspace_}}};
  }

 private:
  std::int64_t *level_, *peak_;
  std::int64_t run_bytes_;
  std::uint64_t workspace_;
};

TEST(MemoryPass, ResidentWorkspaceIsChargedToTheRun) {
  std::int64_t level = 5000, peak = 5000;
  const ByteCounter counter{[&] { return level; }, [&] { return peak; }, [&] { peak = level; }};
  ExecContext ctx(Backend::cpu);
  ScratchMethod plain(&level, &peak, 300, 0), fused(&level, &peak, 0, 96);
  const Json a = memory_during_run(plain, ctx, counter, "test counter");
  EXPECT_EQ(a["peak_bytes"].get<std::int64_t>(), 300);
  EXPECT_EQ(a["transient_bytes"].get<std::int64_t>(), 300);
  EXPECT_EQ(a["workspace_bytes"].get<std::int64_t>(), 0);
  EXPECT_EQ(a["how"].get<std::string>(), "test counter");
  const Json b = memory_during_run(fused, ctx, counter, "test counter");
  EXPECT_EQ(b["peak_bytes"].get<std::int64_t>(), 96);  // allocated before the run, live during it
  EXPECT_EQ(b["transient_bytes"].get<std::int64_t>(), 96);
  EXPECT_EQ(b["workspace_bytes"].get<std::int64_t>(), 96);
  EXPECT_EQ(b["stored_bytes"].get<std::uint64_t>(), 1000u);  // not counted twice
  EXPECT_NE(b["how"].get<std::string>().find("resident workspace"), std::string::npos);
}

}  // namespace
}  // namespace lrb
