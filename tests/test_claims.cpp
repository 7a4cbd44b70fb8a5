// Claimed vs measured: verdicts on records with known values (no run needed), including a baseline ratio
// across blocks, params and point filters, tolerances, and records that cannot give a number.
#include <gtest/gtest.h>

#include "analysis/claims.hpp"
#include "harness/config.hpp"

namespace lrb::test {
namespace {

Json record(const std::string& block, const std::string& method, const Json& params, const Json& point, double ms,
            const std::string& status = "ok") {
  return {{"block", block}, {"method", method}, {"method_label", method}, {"params", params},
          {"point_id", point.dump()}, {"point", point}, {"status", status}, {"reason", "why"}, {"error", nullptr},
          {"time", {{"median", ms}}}};
}

Config config_with(const Json& claims_a) {
  const Json doc = {
      {"name", "c"},
      {"backend", "cpu"},
      {"runs",
       {{{"name", "a"}, {"task", "adapter_projection"}, {"methods", {"s2lc", "sequential_lora"}}, {"claims", claims_a}},
        {{"name", "b"}, {"task", "adapter_projection"}, {"methods", {"s2lc"}}, {"measure", {{"mode", "cold"}}}}}}};
  ConfigLoad load = parse_config(doc.dump(), "test");
  if (!load.config) throw std::runtime_error(load.errors.at(0).text());
  return *load.config;
}

TEST(Claims, VerdictsFollowCompareAndTolerance) {
  const Json p = {{"K", 100}};
  const std::vector<Json> records = {record("a", "s2lc", {{"layout", "u8x2"}}, p, 2.0),
                                     record("a", "s2lc", {{"layout", "packed"}}, p, 4.0)};
  const Config cfg = config_with(Json::array({
      {{"metric", "time.median"}, {"method", "s2lc"}, {"params", {{"layout", "u8x2"}}}, {"value", 3.0},
       {"compare", "at_most"}, {"source", "s"}},
      {{"metric", "time.median"}, {"method", "s2lc"}, {"params", {{"layout", "packed"}}}, {"value", 3.0},
       {"compare", "at_most"}, {"source", "s"}},
      {{"metric", "time.median"}, {"method", "s2lc"}, {"params", {{"layout", "packed"}}}, {"value", 3.0},
       {"compare", "at_most"}, {"abs_tol", 1.5}, {"source", "s"}},
      {{"metric", "time.median"}, {"method", "s2lc"}, {"params", {{"layout", "u8x2"}}}, {"value", 2.1},
       {"source", "s"}},  // about, 10% by default
      {{"metric", "time.median"}, {"method", "s2lc"}, {"params", {{"layout", "u8x2"}}}, {"value", 2.5},
       {"compare", "at_least"}, {"source", "s"}},
  }));
  const auto rows = evaluate_claims(cfg, records);
  ASSERT_EQ(rows.size(), 5u);
  EXPECT_EQ(rows[0].verdict, "holds");
  EXPECT_EQ(rows[1].verdict, "does not hold");
  EXPECT_EQ(rows[2].verdict, "holds");  // 4.0 <= 3.0 + 1.5
  EXPECT_EQ(rows[3].verdict, "holds");  // |2.0 - 2.1| <= 0.21
  EXPECT_EQ(rows[4].verdict, "does not hold");
  EXPECT_DOUBLE_EQ(rows[0].measured.get<double>(), 2.0);
}

TEST(Claims, BaselineRatioComesFromTheSamePointInTheNamedBlock) {
  const Json p1 = {{"K", 1}}, p2 = {{"K", 2}};
  const std::vector<Json> records = {record("a", "s2lc", Json::object(), p1, 1.0),
                                     record("a", "s2lc", Json::object(), p2, 2.0),
                                     record("b", "s2lc", Json::object(), p1, 3.0),  // no-graph baseline
                                     record("b", "s2lc", Json::object(), p2, 2.5)};
  const Config cfg = config_with(Json::array({{{"metric", "time.median"}, {"method", "s2lc"},
                                               {"baseline", {{"method", "s2lc"}, {"block", "b"}}}, {"value", 2.0},
                                               {"compare", "at_least"}, {"source", "s"}}}));
  const auto rows = evaluate_claims(cfg, records);
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_DOUBLE_EQ(rows[0].measured.get<double>(), 3.0);
  EXPECT_EQ(rows[0].verdict, "holds");
  EXPECT_DOUBLE_EQ(rows[1].measured.get<double>(), 1.25);
  EXPECT_EQ(rows[1].verdict, "does not hold");
}

TEST(Claims, NoDataIsSaidWithTheReason) {
  const std::vector<Json> records = {record("a", "s2lc", Json::object(), {{"K", 1}}, 0, "skipped")};
  const Config cfg = config_with(Json::array(
      {{{"metric", "time.median"}, {"method", "s2lc"}, {"value", 1}, {"source", "s"}},
       {{"metric", "hbm.write_excess_bytes"}, {"method", "sequential_lora"}, {"value", 0}, {"source", "s"}}}));
  const auto rows = evaluate_claims(cfg, records);
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].verdict, "no data");
  EXPECT_NE(rows[0].detail.find("skipped"), std::string::npos);
  EXPECT_EQ(rows[1].verdict, "no data");
  const std::string md = claims_markdown(rows);
  EXPECT_NE(md.find("## Claims: claimed vs measured"), std::string::npos);
}

// A method that measures 0 where the claim is a ratio to a baseline (a fused kernel with no transient bytes):
// no data, saying why, rather than a division by zero or a claim of a missing baseline.
TEST(Claims, AZeroUnderARatioIsNoDataWithTheReason) {
  const Json p = {{"K", 1}};
  const std::vector<Json> records = {record("a", "s2lc", Json::object(), p, 0.0),
                                     record("a", "sequential_lora", Json::object(), p, 2.0)};
  const Config cfg = config_with(Json::array({{{"metric", "time.median"}, {"method", "s2lc"},
                                               {"baseline", {{"method", "sequential_lora"}}}, {"value", 1.0},
                                               {"compare", "at_least"}, {"source", "s"}}}));
  const auto rows = evaluate_claims(cfg, records);
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].verdict, "no data");
  EXPECT_NE(rows[0].detail.find("undefined"), std::string::npos) << rows[0].detail;
  EXPECT_EQ(rows[0].detail.find("no ok baseline"), std::string::npos) << rows[0].detail;
}

}  // namespace
}  // namespace lrb::test
