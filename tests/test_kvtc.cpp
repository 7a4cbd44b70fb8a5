// KVTC's coefficient coding and bit allocation (methods/kvtc/): quantization error bounds, fp8 e4m3, bit
// packing, and the plans' budgets.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "methods/kvtc/kvtc_plan.hpp"
#include "methods/kvtc/kvtc_quant.hpp"

namespace lrb::kvtc {
namespace {

std::vector<float> random_values(std::mt19937& rng, int n, float lo, float hi) {
  std::uniform_real_distribution<float> u(lo, hi);
  std::vector<float> v(n);
  for (auto& x : v) x = u(rng);
  return v;
}

TEST(KvtcQuant, IntegerCodesStayWithinHalfAScaleAtEveryWidth) {
  std::mt19937 rng(3);
  for (CodeType t : {CodeType::int2, CodeType::int4, CodeType::int8})
    for (const auto& [lo, hi] : std::vector<std::pair<float, float>>{{-1, 1}, {3, 3.5f}, {-700, -2}, {0, 1e-3f}})
      for (int n : {1, 2, 16, 64}) {
        const auto x = random_values(rng, n, lo, hi);
        const GroupCodes g = quantize_group(x, t);
        std::vector<float> y(n);
        dequantize_group(g.shift, g.scale, g.codes, t, y);
        const float scale = fp16_value(g.scale);
        EXPECT_LE(fp16_value(g.shift), *std::min_element(x.begin(), x.end()));
        for (int i = 0; i < n; ++i) {
          EXPECT_LE(std::fabs(x[i] - y[i]), 0.5f * scale * (1 + 1e-5f) + 1e-7f * std::fabs(x[i]))
              << name_of(t) << " n=" << n << " [" << lo << ", " << hi << "]";
          EXPECT_LT(g.codes[i], 1u << bits_of(t));
        }
      }
  // A constant group: scale 0 and the value back exactly where fp16 holds it.
  const std::vector<float> c(8, 0.25f);
  const GroupCodes g = quantize_group(c, CodeType::int4);
  EXPECT_EQ(fp16_value(g.scale), 0.0f);
  std::vector<float> y(8);
  dequantize_group(g.shift, g.scale, g.codes, CodeType::int4, y);
  for (float v : y) EXPECT_EQ(v, 0.25f);
  EXPECT_THROW(quantize_group(std::vector<float>{1.0f, NAN}, CodeType::int8), std::invalid_argument);
}

TEST(KvtcQuant, Fp16RoundingDirectionsBracketTheValue) {
  for (float x : {0.1f, -0.1f, 1.0f, 3.14159f, -65504.0f, 1e-7f, -1e-7f, 0.0f, 70000.0f}) {
    EXPECT_LE(fp16_value(fp16_round_down(x)), x) << x;
    if (x <= 65504.0f) {
      EXPECT_GE(fp16_value(fp16_round_up(x)), x) << x;
    }
  }
  EXPECT_EQ(fp16_value(fp16_round_down(70000.0f)), 65504.0f);  // saturates, never inf
}

TEST(KvtcQuant, Fp8E4m3IsTheOcpFormat) {
  for (int c = 0; c < 256; ++c) {
    if ((c & 0x7F) == 0x7F) {
      EXPECT_TRUE(std::isnan(fp8_e4m3_decode(static_cast<std::uint8_t>(c))));
      continue;
    }
    const float v = fp8_e4m3_decode(static_cast<std::uint8_t>(c));
    const std::uint8_t back = fp8_e4m3_encode(v);
    EXPECT_EQ(fp8_e4m3_decode(back), v) << c;  // -0 and +0 may swap codes, not values
  }
  EXPECT_EQ(fp8_e4m3_decode(0x7E), 448.0f);
  EXPECT_EQ(fp8_e4m3_decode(0x01), std::ldexp(1.0f, -9));  // smallest subnormal
  EXPECT_EQ(fp8_e4m3_encode(1000.0f), 0x7E);                // saturates
  EXPECT_EQ(fp8_e4m3_encode(-1000.0f), 0xFE);
  EXPECT_EQ(fp8_e4m3_encode(1.0625f), 0x38);                // halfway between 1 (0x38) and 1.125: to even
  EXPECT_EQ(fp8_e4m3_encode(1.1875f), 0x3A);                // halfway between 1.125 (0x39) and 1.25: to even
  EXPECT_EQ(fp8_e4m3_encode(1.1f), 0x39);
}

TEST(KvtcPack, RoundtripsEveryWidthAndLength) {
  std::mt19937 rng(5);
  for (int w = 1; w <= 8; ++w)
    for (int n : {0, 1, 2, 3, 7, 8, 9, 31, 33, 100}) {
      std::vector<std::uint8_t> v(n);
      for (auto& x : v) x = static_cast<std::uint8_t>(rng() & ((1u << w) - 1));
      std::vector<std::uint8_t> bytes;
      pack_bits(v, w, bytes);
      EXPECT_EQ(bytes.size(), (static_cast<std::size_t>(n) * w + 7) / 8);
      std::vector<std::uint8_t> back;
      unpack_bits(bytes, w, v.size(), back);
      EXPECT_EQ(back, v) << "width " << w << " n " << n;
      if (!bytes.empty()) {
        bytes.pop_back();
        EXPECT_THROW(unpack_bits(bytes, w, v.size(), back), std::runtime_error);
      }
    }
  // LSB first: 2-bit values 1, 2, 3, 0 -> 0b00111001.
  std::vector<std::uint8_t> b;
  pack_bits(std::vector<std::uint8_t>{1, 2, 3, 0}, 2, b);
  ASSERT_EQ(b.size(), 1u);
  EXPECT_EQ(b[0], 0x39);
  EXPECT_THROW(pack_bits(std::vector<std::uint8_t>{1}, 9, b), std::invalid_argument);
}

// Coefficients whose first `strong` components carry variance 1 and the rest ~1e-10.
Eigen::MatrixXf decaying(int n, int p, int strong, unsigned seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> z(0, 1);
  Eigen::MatrixXf C(n, p);
  for (int r = 0; r < n; ++r)
    for (int c = 0; c < p; ++c) C(r, c) = z(rng) * (c < strong ? 1.0f : 1e-5f);
  return C;
}

TEST(KvtcPlan, FitsTheBudgetCoversEveryComponentAndDropsTheNegligible) {
  const int p = 300;
  const Eigen::MatrixXf C = decaying(64, p, 20, 1);
  double previous = INFINITY;
  for (double budget : {0.0, 40.0, 100.0, 200.0, 400.0, 1200.0}) {
    const Plan plan = plan_dp(C, budget);
    EXPECT_NO_THROW(validate_plan(plan.groups, p));
    EXPECT_LE(plan.bits_per_token, budget);
    double bits = 0;
    for (const auto& g : plan.groups) {
      bits += group_bits(g.type, g.size);
      if (g.begin >= 32) {
        EXPECT_EQ(g.type, CodeType::dropped) << "budget " << budget << " keeps a negligible group at " << g.begin;
      }
    }
    EXPECT_EQ(bits, plan.bits_per_token);
    EXPECT_LE(plan.error, previous * (1 + 1e-9)) << "more bits must not cost accuracy";
    previous = plan.error;
  }
  EXPECT_EQ(plan_dp(C, 0).bits_per_token, 0.0);
  // With room for every strong component at 8 bits the error is a small share of their energy (20).
  EXPECT_LT(plan_dp(C, 1200).error, 20 * 1e-3);
}

TEST(KvtcPlan, GreedySeedCountsNoOverheadAndFavoursTheLargestVariances) {
  Eigen::VectorXd var(6);
  var << 8, 4, 2, 1, 1e-3, 1e-6;
  const Plan plan = plan_greedy_seed(var, 16);
  int width_sum = 0;
  for (const auto& g : plan.groups) width_sum += bits_of(g.type);
  EXPECT_LE(width_sum, 16);
  EXPECT_GE(bits_of(plan.groups[0].type), bits_of(plan.groups[3].type));
  EXPECT_EQ(plan.groups[5].type, CodeType::dropped);
  // The real cost of that plan counts 32 bits per kept component: more than the budget it was given.
  EXPECT_GT(plan.bits_per_token, 16);
}

TEST(KvtcPlan, MalformedPlansAreRefused) {
  EXPECT_NO_THROW(validate_plan({{0, 2, CodeType::int4}, {2, 1, CodeType::dropped}}, 3));
  EXPECT_THROW(validate_plan({{0, 2, CodeType::int4}}, 3), std::runtime_error);                         // short
  EXPECT_THROW(validate_plan({{0, 2, CodeType::int4}, {1, 2, CodeType::int4}}, 3), std::runtime_error);  // overlap
  EXPECT_THROW(validate_plan({{0, 4, CodeType::int4}}, 3), std::runtime_error);                         // past p
  EXPECT_THROW(validate_plan({{0, 3, static_cast<CodeType>(9)}}, 3), std::runtime_error);               // type
}

}  // namespace
}  // namespace lrb::kvtc
