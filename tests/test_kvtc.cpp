// KVTC's coefficient coding and bit allocation (methods/kvtc/): quantization error bounds, fp8 e4m3, bit
// packing, and the plans' budgets.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "methods/kvtc/kvtc_codec.hpp"
#include "methods/kvtc/kvtc_entropy.hpp"
#include "methods/kvtc/kvtc_method.hpp"
#include "methods/kvtc/kvtc_plan.hpp"
#include "methods/kvtc/kvtc_quant.hpp"
#include "tests/support/method_check.hpp"
#include "workloads/kv_compression/method_base.hpp"

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

// The method through the harness's correctness pass on structured caches: sinks and window bit-exact (the
// pass fails otherwise), the coded middle close to the original, the ratio near the target over the coded
// tokens, every mode and entropy stage decoding to the same cache.
TEST(Kvtc, RoundtripsThroughTheHarnessInEveryModeAndEntropyStage) {
  const Json values = {{"model", "tiny"}, {"tokens", 160}, {"calibration_tokens", 256}, {"generator", "structured"},
                       {"seed", 3}};
  std::vector<std::vector<Half>> decoded;
  for (const char* mode : {"paper", "per_head"})
    for (const char* entropy : {"none", "deflate", "zstd"}) {
      const Json params = {{"mode", mode}, {"entropy", entropy}, {"ratio", 4.0}, {"sinks", 4}, {"window", 16}};
      test::MethodRun r = test::check_method("kv_compression", "kvtc", values, params);
      ASSERT_TRUE(r.support.ok) << r.support.reason;
      ASSERT_FALSE(r.check.failure) << *r.check.failure;
      // per_head at head_dim 10 has 40 bits per head vector, 32 of them the group's shift and scale: lossier.
      EXPECT_LT(r.check.fidelity["rel_error"].get<double>(), std::string(mode) == "paper" ? 0.15 : 0.5)
          << mode << " " << entropy << " " << r.check.fidelity.dump().substr(0, 400);
      const auto& m = static_cast<const KvCompressionMethod&>(*r.method);
      EXPECT_GT(m.sizes().calibration_bytes, 0u);
      EXPECT_EQ(m.sizes().before_entropy_bytes > 0, std::string(entropy) != "none");
      if (std::string(entropy) == "none") {
        // 2 x 140 coded tokens x 2 layers x 2 heads x 10 dims of fp16 over the payload: about the ratio asked.
        const double coded_bytes = 2.0 * 140 * 2 * 2 * 10 * 2;
        const double payload = m.sizes().blob_bytes - m.sizes().raw_token_bytes - 60.0;
        EXPECT_GT(coded_bytes / payload, 3.0) << mode;
      }
      std::vector<Half> out(r.check.outputs[0].values.size());
      for (Eigen::Index i = 0; i < r.check.outputs[0].values.size(); ++i)
        out[i] = Half(r.check.outputs[0].values.data()[i]);
      decoded.push_back(out);
    }
  // The entropy stage is lossless: within a mode, the three decoded caches are identical.
  EXPECT_EQ(decoded[0], decoded[1]);
  EXPECT_EQ(decoded[0], decoded[2]);
  EXPECT_EQ(decoded[3], decoded[4]);
  EXPECT_EQ(decoded[3], decoded[5]);
}

TEST(Kvtc, CachesWithNothingToCodeComeBackExact) {
  for (int tokens : {1, 5, 20}) {
    const Json values = {{"model", "tiny"}, {"tokens", tokens}, {"calibration_tokens", 32}, {"generator", "gaussian"}};
    test::MethodRun r = test::check_method("kv_compression", "kvtc", values, {{"sinks", 4}, {"window", 16}});
    ASSERT_TRUE(r.support.ok);
    ASSERT_FALSE(r.check.failure) << *r.check.failure;
    EXPECT_EQ(r.check.fidelity["rel_error"].get<double>(), 0.0) << tokens;
  }
  // All zeros: a constant calibration set has no components; the mean alone restores it.
  KvTensor zero(1, 40, 1, 4);
  for (auto& v : zero.data) v = Half(0.0f);
  CalibrationSettings cs;
  Artifact a;
  a.keys = calibrate(zero, true, RopeSpec{10000.0, 4, "neox"}, cs);
  a.values = calibrate(zero, false, RopeSpec{10000.0, 4, "neox"}, cs);
  EXPECT_EQ(a.keys[0].r(), 0);
  std::vector<std::uint8_t> blob;
  encode_blob(zero, zero, RopeSpec{10000.0, 4, "neox"}, a, CodecSettings{1, 1, Entropy::none}, blob);
  KvTensor k(1, 40, 1, 4), v(1, 40, 1, 4);
  decode_blob(blob, RopeSpec{10000.0, 4, "neox"}, a, k, v);
  EXPECT_EQ(k.data, zero.data);
}

// A truncated or corrupted blob is an error, never a crash (the fuzz target runs the same decoder).
TEST(Kvtc, TruncatedOrCorruptedBlobsAreRefused) {
  std::mt19937 rng(9);
  std::normal_distribution<float> z(0, 1);
  KvTensor calib(2, 64, 2, 8), cache(2, 48, 2, 8);
  for (auto& x : calib.data) x = Half(z(rng));
  for (auto& x : cache.data) x = Half(z(rng));
  const RopeSpec rope{10000.0, 8, "interleaved"};
  for (Entropy e : {Entropy::none, Entropy::deflate, Entropy::zstd}) {
    CalibrationSettings cs;
    cs.ratio = 4;
    Artifact a;
    a.keys = calibrate(calib, true, rope, cs);
    a.values = calibrate(calib, false, rope, cs);
    std::vector<Stream> all = a.keys;
    all.insert(all.end(), a.values.begin(), a.values.end());
    a.hash = artifact_hash(all);
    std::vector<std::uint8_t> blob;
    encode_blob(cache, cache, rope, a, CodecSettings{2, 8, e}, blob);
    KvTensor k(2, 48, 2, 8), v(2, 48, 2, 8);
    EXPECT_NO_THROW(decode_blob(blob, rope, a, k, v));
    for (std::size_t n = 0; n < blob.size(); n += std::max<std::size_t>(1, blob.size() / 97))
      EXPECT_THROW(decode_blob(std::span(blob.data(), n), rope, a, k, v), std::runtime_error) << n;
    int refused = 0;
    for (int trial = 0; trial < 200; ++trial) {
      std::vector<std::uint8_t> bad = blob;
      bad[rng() % 64] ^= static_cast<std::uint8_t>(1 + rng() % 255);  // the header and the start of the data
      try {
        decode_blob(bad, rope, a, k, v);
      } catch (const std::runtime_error&) {
        ++refused;
      }
    }
    EXPECT_GT(refused, 0);
    Artifact other = a;
    other.hash ^= 1;
    EXPECT_THROW(decode_blob(blob, rope, other, k, v), std::runtime_error);
  }
}

// The quantization baselines beside kvtc: each within its own error scale on a structured cache, the raw
// tokens bit-exact (the harness's pass checks them), and the ratio their format implies.
TEST(KvBaselines, KiviInt4AndFp8RoundtripAtTheirRatios) {
  const Json values = {{"model", "tiny"}, {"tokens", 200}, {"generator", "structured"}, {"seed", 4}};
  struct Case {
    const char* method;
    Json params;
    double max_error, min_ratio, max_ratio;
  };
  // tiny: 2 layers x 2 KV heads x 10 dims. A group of n b-bit codes costs n b + 32 bits against 16 n.
  //   int4, groups of 20: 320 / 112 = 2.86; kivi 4-bit, groups of 8: 2x on the 136 coded tokens (200 - 64,
  //   a multiple of 8), 64 raw: 200 / (68 + 64) = 1.52; kivi 2-bit, groups of 8, no raw: 128 / 48 = 2.67.
  // Headers take a little off each.
  const std::vector<Case> cases = {
      {"fp8_e4m3", Json::object(), 0.05, 1.99, 2.0},
      {"int4_per_token", {{"group", 20}}, 0.12, 2.8, 2.86},
      {"kivi", {{"bits", 4}, {"group", 8}, {"residual", 64}}, 0.12, 1.45, 1.52},
      {"kivi", {{"bits", 2}, {"group", 8}, {"residual", 0}}, 0.5, 2.45, 2.67},
  };
  for (const auto& c : cases) {
    test::MethodRun r = test::check_method("kv_compression", c.method, values, c.params);
    ASSERT_TRUE(r.support.ok) << r.support.reason;
    ASSERT_FALSE(r.check.failure) << c.method << ": " << *r.check.failure;
    EXPECT_LT(r.check.fidelity["rel_error"].get<double>(), c.max_error) << c.method << c.params.dump();
    EXPECT_GT(r.check.fidelity["rel_error"].get<double>(), 0.0) << c.method;
    const auto& m = static_cast<const KvCompressionMethod&>(*r.method);
    const double ratio = 2.0 * 200 * 2 * 2 * 10 * 2 / static_cast<double>(m.sizes().blob_bytes);
    EXPECT_GT(ratio, c.min_ratio) << c.method << c.params.dump();
    EXPECT_LT(ratio, c.max_ratio) << c.method << c.params.dump();
  }
}

// PCA from calibration: orthonormal components in descending variance that, on data of rank 3 plus tiny
// noise, hold all but a tiny share of the held-out tokens' energy in the first three; the Gram route (p above
// the tokens, paper mode) and the covariance route (per_head) agree on the spectrum.
TEST(KvtcCalibration, PcaKeepsTheVarianceItShould) {
  std::mt19937 rng(2);
  std::normal_distribution<float> z(0, 1);
  const int layers = 3, heads = 2, dim = 8, tokens = 40;  // p = 48 > 30 fit tokens: the Gram route
  Eigen::MatrixXf mix(3, layers * heads * dim);
  for (int i = 0; i < mix.size(); ++i) mix.data()[i] = z(rng);
  KvTensor values(layers, tokens, heads, dim);
  for (int t = 0; t < tokens; ++t) {
    const Eigen::RowVector3f c(3 * z(rng), 2 * z(rng), z(rng));
    const Eigen::RowVectorXf v = c * mix;
    for (int l = 0; l < layers; ++l)
      for (int h = 0; h < heads; ++h)
        for (int d = 0; d < dim; ++d)
          values.data[values.index(l, t, h, d)] = Half(v[(l * heads + h) * dim + d] + 1e-3f * z(rng));
  }
  CalibrationSettings cs;
  const auto paper = calibrate(values, false, RopeSpec{}, cs);
  ASSERT_EQ(paper.size(), 1u);
  const Stream& s = paper[0];
  EXPECT_EQ(s.p(), 48);
  EXPECT_LE(s.r(), 30);
  const Eigen::MatrixXf gram = s.basis.transpose() * s.basis;
  EXPECT_LT((gram - Eigen::MatrixXf::Identity(s.r(), s.r())).cwiseAbs().maxCoeff(), 1e-3f);
  for (int i = 1; i < s.r(); ++i) EXPECT_GE(s.variance[i - 1], s.variance[i]);
  double top3 = 0, all = 0;
  for (int i = 0; i < s.r(); ++i) (i < 3 ? top3 : all) += s.variance[i];
  all += top3;
  EXPECT_GT(top3 / all, 0.999);
  cs.mode = Mode::per_head;
  const auto heads_streams = calibrate(values, false, RopeSpec{}, cs);
  EXPECT_EQ(heads_streams.size(), static_cast<std::size_t>(layers * heads));
  EXPECT_EQ(heads_streams[0].p(), dim);
  EXPECT_THROW(calibrate(KvTensor(1, 1, 1, 4), false, RopeSpec{}, CalibrationSettings{}), std::invalid_argument);
}

TEST(KvtcEntropy, RoundtripsRefusesWrongSizesAndCorruptData) {
  std::mt19937 rng(4);
  std::vector<std::uint8_t> data(5000);
  for (auto& b : data) b = static_cast<std::uint8_t>(rng() % 7);  // compressible
  for (Entropy e : {Entropy::none, Entropy::deflate, Entropy::zstd}) {
    for (std::size_t n : {std::size_t{0}, std::size_t{1}, data.size()}) {
      std::vector<std::uint8_t> coded, back;
      entropy_encode(e, std::span(data.data(), n), coded);
      entropy_decode(e, coded, n, back);
      EXPECT_EQ(back, std::vector<std::uint8_t>(data.begin(), data.begin() + n)) << name_of(e) << " " << n;
      if (e != Entropy::none && n == data.size()) {
        EXPECT_LT(coded.size(), n / 2) << name_of(e);
      }
      EXPECT_THROW(entropy_decode(e, coded, n + 1, back), std::runtime_error) << name_of(e);
      if (n > 1 && e != Entropy::none) {
        std::vector<std::uint8_t> cut(coded.begin(), coded.begin() + coded.size() / 2);
        EXPECT_THROW(entropy_decode(e, cut, n, back), std::runtime_error) << name_of(e);
      }
    }
  }
  EXPECT_THROW(parse_entropy("lz4"), std::invalid_argument);
}

}  // namespace
}  // namespace lrb::kvtc

namespace lrb::kvtc {
namespace {

// The CUDA path's nvCOMP frames are marked in the header (0x80 | codec); the CPU decoder names them and
// refuses, and the CPU path declines the GPU-only codecs before anything runs.
TEST(KvtcEntropy, GpuFramedBlobsAndGpuOnlyCodecsAreRefusedByName) {
  EXPECT_EQ(parse_entropy("gdeflate"), Entropy::gdeflate);
  EXPECT_EQ(parse_entropy("ans"), Entropy::ans);
  EXPECT_FALSE(on_cpu(Entropy::ans));
  EXPECT_THROW(parse_entropy("lz4"), std::invalid_argument);
  std::vector<std::uint8_t> out;
  EXPECT_THROW(entropy_encode(Entropy::gdeflate, std::vector<std::uint8_t>(8, 1), out), std::invalid_argument);

  const Json values = {{"model", "tiny"}, {"tokens", 40}, {"calibration_tokens", 32}, {"generator", "gaussian"}};
  test::MethodRun gpu_only = test::check_method("kv_compression", "kvtc", values, {{"entropy", "ans"}});
  ASSERT_FALSE(gpu_only.support.ok);
  EXPECT_NE(gpu_only.support.reason.find("GPU only"), std::string::npos) << gpu_only.support.reason;

  test::MethodRun r = test::check_method("kv_compression", "kvtc", values, {{"sinks", 2}, {"window", 4}});
  ASSERT_FALSE(r.check.failure) << *r.check.failure;
  auto& m = dynamic_cast<KvCompressionMethod&>(*r.method);
  std::vector<std::uint8_t> blob = m.blob_on_host(*r.ctx);
  ASSERT_GT(blob.size(), kBlobHeaderBytes);
  blob[kHeaderEntropyAt] = kNvcompFramed | static_cast<std::uint8_t>(Entropy::gdeflate);
  const auto& problem = static_cast<const KvProblem&>(*r.problem);
  const Calibrated cal = calibrate_artifact(problem, Settings(Params(with_defaults(r.info->params, Json::object()))));
  KvTensor k = problem.keys, v = problem.values;
  try {
    decode_blob(blob, problem.rope, cal.art, k, v);
    ADD_FAILURE() << "a GPU-framed blob was decoded on the CPU";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("nvCOMP's gdeflate"), std::string::npos) << e.what();
  }
}

// The PCA fit is computed once per calibration set and mode in a process and reused by every ratio (and by
// the prepared copies of one method); the plans still differ by ratio, and a fit from the cache is the fit.
TEST(KvtcCalibration, TheFitIsReusedAcrossRatiosAndTheRecordSaysSo) {
  const Json values = {{"model", "tiny"}, {"tokens", 64}, {"calibration_tokens", 48}, {"generator", "gaussian"},
                       {"seed", 1234}};
  const test::MethodRun r = test::check_method("kv_compression", "identity", values);
  const auto& problem = static_cast<const KvProblem&>(*r.problem);
  auto settings = [&](double ratio) {
    return Settings(Params(with_defaults(Registry::instance().method("kvtc")->params,
                                         {{"ratio", ratio}, {"mode", "paper"}})));
  };
  const Calibrated a = calibrate_artifact(problem, settings(2));
  const Calibrated b = calibrate_artifact(problem, settings(2));
  const Calibrated c = calibrate_artifact(problem, settings(8));
  EXPECT_TRUE(b.fit_cached);
  EXPECT_TRUE(c.fit_cached);
  EXPECT_EQ(a.art.hash, b.art.hash);
  EXPECT_NE(a.art.hash, c.art.hash);  // another ratio: another plan
  ASSERT_EQ(a.art.keys.size(), c.art.keys.size());
  for (std::size_t i = 0; i < a.art.keys.size(); ++i) EXPECT_EQ(a.art.keys[i].basis, c.art.keys[i].basis);
  EXPECT_EQ(b.fit_s, a.fit_s);  // the fit's own time, not the cache lookup's
  const Json m = metrics_json(c, EncodeStats{}, Entropy::none);
  EXPECT_TRUE(m["calibration"]["fit_cached"].get<bool>());
}

// Each timed phase gets its own floor: compress reads the cache and writes the blob, decompress the reverse;
// kvtc's projections add their FLOPs.
TEST(KvFamily, PhasesHaveTheirOwnFloors) {
  const Json values = {{"model", "tiny"}, {"tokens", 200}, {"calibration_tokens", 64}};  // 68 tokens coded
  for (const char* method : {"identity", "kvtc"}) {
    test::MethodRun r = test::check_method("kv_compression", method, values);
    ASSERT_FALSE(r.check.failure) << *r.check.failure;
    const auto& problem = static_cast<const KvProblem&>(*r.problem);
    const auto& m = dynamic_cast<const KvCompressionMethod&>(*r.method);
    const Floor f = Registry::instance().family("kv_compression")->floor(*r.problem, *r.method);
    ASSERT_EQ(f.phases.size(), 2u) << method;
    const double one_way = static_cast<double>(problem.original_bytes()) + static_cast<double>(m.sizes().blob_bytes);
    EXPECT_DOUBLE_EQ(f.phases.at("compress").bytes, one_way);
    EXPECT_DOUBLE_EQ(f.phases.at("decompress").bytes, one_way);
    EXPECT_DOUBLE_EQ(f.bytes, 2 * one_way);
    if (std::string(method) == "kvtc") {
      EXPECT_GT(f.phases.at("compress").flops, 0);
    } else {
      EXPECT_EQ(f.phases.at("compress").flops, 0);
    }
  }
}

}  // namespace
}  // namespace lrb::kvtc
