// The real model in the loop: the GGUF reader (strict header checks, dequantization), the tokenizer against
// Hugging Face `tokenizers`, and the CPU forward pass against an independent NumPy implementation on the same
// GGUF (tests/fixtures/smollm2_reference.json, made by scripts/make_model_fixtures.py). Tests that need
// SmolLM2's GGUF skip where scripts/setup has not installed it.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <fstream>
#include <map>

#include <fmt/format.h>

#include "harness/json.hpp"
#include "tests/support/cli.hpp"
#include "workloads/model/compress_linears.hpp"
#include "workloads/model/forward.hpp"
#include "workloads/model/gguf.hpp"
#include "workloads/model/llama.hpp"
#include "workloads/model/tokenizer.hpp"

namespace lrb::test {
namespace {

using namespace lrb::model;

// ---- A tiny GGUF writer: valid files, and the same with one field broken ----------------------------------
struct GgufBuilder {
  std::vector<std::uint8_t> b;
  template <class T>
  void put(T v) {
    const auto* p = reinterpret_cast<const std::uint8_t*>(&v);
    b.insert(b.end(), p, p + sizeof(T));
  }
  void str(const std::string& s) {
    put<std::uint64_t>(s.size());
    b.insert(b.end(), s.begin(), s.end());
  }
};

// One Q8_0 tensor "w" of 2 rows x 32 (d = 0.5, codes 0..31 and -1..-32) and one F32 "n" of 4, after one key.
std::vector<std::uint8_t> tiny_gguf(std::uint64_t w_offset = 0, std::uint32_t w_type = 8, std::uint64_t n_offset = 96) {
  GgufBuilder g;
  g.put<std::uint32_t>(0x46554747);
  g.put<std::uint32_t>(3);
  g.put<std::uint64_t>(2);  // tensors
  g.put<std::uint64_t>(1);  // keys
  g.str("general.architecture");
  g.put<std::uint32_t>(8);
  g.str("llama");
  g.str("w");
  g.put<std::uint32_t>(2);
  g.put<std::uint64_t>(32);
  g.put<std::uint64_t>(2);
  g.put<std::uint32_t>(w_type);
  g.put<std::uint64_t>(w_offset);
  g.str("n");
  g.put<std::uint32_t>(1);
  g.put<std::uint64_t>(4);
  g.put<std::uint32_t>(0);
  g.put<std::uint64_t>(n_offset);
  while (g.b.size() % 32) g.b.push_back(0);
  const std::size_t data = g.b.size();
  g.b.resize(data + 112, 0);
  for (int row = 0; row < 2; ++row) {
    const std::uint16_t half_05 = 0x3800;
    std::memcpy(&g.b[data + 34 * row], &half_05, 2);
    for (int j = 0; j < 32; ++j) g.b[data + 34 * row + 2 + j] = static_cast<std::uint8_t>(row == 0 ? j : -1 - j);
  }
  const float n[4] = {1.5f, -2.0f, 0.25f, 8.0f};
  std::memcpy(&g.b[data + 96], n, 16);
  return g.b;
}

std::string error_of(std::vector<std::uint8_t> bytes) {
  try {
    GgufFile f("x.gguf", std::move(bytes));
  } catch (const std::exception& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(Gguf, ReadsAndDequantizesAValidFile) {
  GgufFile f("x.gguf", tiny_gguf());
  EXPECT_EQ(f.string_of("general.architecture"), "llama");
  const auto w = f.dequantize("w");
  ASSERT_EQ(w.size(), 64u);
  EXPECT_FLOAT_EQ(w[0], 0.0f);
  EXPECT_FLOAT_EQ(w[31], 15.5f);
  EXPECT_FLOAT_EQ(w[32], -0.5f);
  EXPECT_FLOAT_EQ(w[63], -16.0f);
  EXPECT_EQ(f.dequantize("n"), (std::vector<float>{1.5f, -2.0f, 0.25f, 8.0f}));
  EXPECT_EQ(f.tensor("w").rows(), 2u);
}

TEST(Gguf, HeadersThatLieAreRefusedWithTheTensorOrKey) {
  auto truncated = tiny_gguf();
  truncated.resize(120);  // inside the second tensor info
  EXPECT_NE(error_of(truncated).find("the file ends inside"), std::string::npos) << error_of(truncated);
  auto magic = tiny_gguf();
  magic[0] = 'X';
  EXPECT_NE(error_of(magic).find("not a GGUF file"), std::string::npos);
  auto many = tiny_gguf();
  const std::uint64_t huge = 1ull << 40;
  std::memcpy(&many[8], &huge, 8);
  EXPECT_NE(error_of(many).find("tensor infos cannot fit"), std::string::npos) << error_of(many);
  EXPECT_NE(error_of(tiny_gguf(8)).find("tensor 'w': offset 8 is not a multiple of the alignment 32"),
            std::string::npos)
      << error_of(tiny_gguf(8));
  EXPECT_NE(error_of(tiny_gguf(0, 8, 64)).find("overlap"), std::string::npos) << error_of(tiny_gguf(0, 8, 64));
  EXPECT_NE(error_of(tiny_gguf(0, 8, 4096)).find("tensor 'n': bytes [4096, 4112) lie beyond"), std::string::npos)
      << error_of(tiny_gguf(0, 8, 4096));
  EXPECT_NE(error_of(tiny_gguf(0, 12)).find("tensor 'w': ggml type 12"), std::string::npos);
  // A string claiming more bytes than the file holds, before anything is allocated for it.
  auto long_key = tiny_gguf();
  const std::uint64_t claim = 1ull << 50;
  std::memcpy(&long_key[24], &claim, 8);
  EXPECT_NE(error_of(long_key).find("claims 1125899906842624 bytes"), std::string::npos) << error_of(long_key);
}

// ---- SmolLM2-135M -------------------------------------------------------------------------------------------
const Json& reference() {
  static const Json j = [] {
    std::ifstream in(source_dir() / "tests/fixtures/smollm2_reference.json");
    return Json::parse(in);
  }();
  return j;
}

const GgufFile* smollm2() {
  static const std::unique_ptr<GgufFile> f = []() -> std::unique_ptr<GgufFile> {
    const auto path = find_model_file("smollm2-135m");
    return path ? std::make_unique<GgufFile>(*path) : nullptr;
  }();
  return f.get();
}
#define NEED_SMOLLM2()                                                                                   \
  if (!smollm2()) GTEST_SKIP() << "SmolLM2-135M GGUF not installed (scripts/setup puts it in deps/models)"

std::string read_text(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

TEST(Smollm2, MetadataAndDequantizationMatchGgmlsOwnReader) {
  NEED_SMOLLM2();
  const GgufFile& g = *smollm2();
  EXPECT_EQ(g.integer_of("llama.block_count"), 30);
  EXPECT_EQ(g.integer_of("llama.attention.head_count_kv"), 3);
  EXPECT_EQ(g.tensors().size(), 272u);
  for (const auto& [name, values] : reference()["dequantized"].items()) {
    const auto mine = g.dequantize(name);
    for (std::size_t i = 0; i < values.size(); ++i)
      EXPECT_NEAR(mine[i], values[i].get<double>(), 1e-6 * std::abs(values[i].get<double>()) + 1e-9) << name << "[" << i << "]";
  }
}

TEST(Smollm2, TokenizerMatchesHuggingFaceTokenByToken) {
  NEED_SMOLLM2();
  const BpeTokenizer tok(*smollm2());
  const std::string fixture = read_text(source_dir() / "tests/fixtures/tokenizer_text.txt");
  EXPECT_EQ(tok.encode(fixture), reference()["fixture_text_ids"].get<std::vector<int>>());
  EXPECT_EQ(tok.decode(tok.encode(fixture)), fixture);
  const std::string gpl = read_text("/usr/share/common-licenses/GPL-3");
  if (gpl.empty()) GTEST_SKIP() << "no /usr/share/common-licenses/GPL-3";
  const auto ids = tok.encode(gpl);
  ASSERT_GE(ids.size(), 1024u);
  EXPECT_EQ(std::vector<int>(ids.begin(), ids.begin() + 1024), reference()["gpl3_first_1024_ids"].get<std::vector<int>>());
  EXPECT_EQ(tok.decode(ids), gpl);
  EXPECT_THROW(tok.encode("bad \xC3\x28 utf-8"), std::runtime_error);
}

TEST(Smollm2, CpuForwardAgreesWithAnIndependentNumpyPass) {
  NEED_SMOLLM2();
  const auto w = std::make_shared<const LlamaWeights>(load_llama_gguf(*smollm2(), "smollm2-135m"));
  const LlamaCpu model(w);
  const auto all = reference()["gpl3_first_1024_ids"].get<std::vector<int>>();
  const int n = reference()["reference_tokens"].get<int>();
  const std::vector<int> ids(all.begin(), all.begin() + n);
  KvCache cache = model.new_cache(n);
  const MatrixF logits = model.forward(ids, cache);
  const NextTokenStats s = next_token_stats(logits, std::vector<int>(ids.begin() + 1, ids.end()));
  int agree = 0, ties = 0;
  double max_logprob_diff = 0, max_top_logit_diff = 0;
  for (int t = 0; t < n; ++t) {
    const int want = reference()["reference_top1"][t].get<int>();
    const double top = reference()["reference_top1_logit"][t].get<double>();
    max_top_logit_diff = std::max(max_top_logit_diff, std::abs(logits.row(t).maxCoeff() - top));
    if (s.top1[t] == want) ++agree;
    else if (std::abs(logits(t, want) - logits(t, s.top1[t])) < 1e-3) ++ties;  // a near-tie, either is right
    if (t + 1 < n)
      max_logprob_diff = std::max(max_logprob_diff, std::abs(s.logprob[t] - reference()["reference_next_logprob"][t].get<double>()));
  }
  std::cout << fmt::format("CPU vs NumPy over {} tokens: top-1 agreement {}/{} ({} near-ties), max |top logit diff| "
                           "{:.2e}, max |log p(next) diff| {:.2e}\n",
                           n, agree, n, ties, max_top_logit_diff, max_logprob_diff);
  EXPECT_EQ(agree + ties, n);
  EXPECT_LT(max_top_logit_diff, 1e-2);
  EXPECT_LT(max_logprob_diff, 1e-2);
}

TEST(Smollm2, DecodingTokenByTokenEqualsThePrefill) {
  NEED_SMOLLM2();
  const auto w = std::make_shared<const LlamaWeights>(load_llama_gguf(*smollm2(), "smollm2-135m"));
  const LlamaCpu model(w);
  const auto all = reference()["gpl3_first_1024_ids"].get<std::vector<int>>();
  const std::vector<int> ids(all.begin(), all.begin() + 12);
  KvCache a = model.new_cache(12), b = model.new_cache(12);
  const MatrixF prefill = model.forward(ids, a);
  const MatrixF first = model.forward(std::vector<int>(ids.begin(), ids.begin() + 8), b);
  EXPECT_LT((first - prefill.topRows(8)).cwiseAbs().maxCoeff(), 1e-3);
  for (int t = 8; t < 12; ++t) {
    const MatrixF one = model.forward({ids[t]}, b);
    EXPECT_LT((one.row(0) - prefill.row(t)).cwiseAbs().maxCoeff(), 1e-3) << "position " << t;
  }
  EXPECT_LT((a.k[29].topRows(12) - b.k[29].topRows(12)).cwiseAbs().maxCoeff(), 1e-4);
}

TEST(Stories260k, LoadsAndRunsWithAConsistentCache) {
  const auto path = find_model_file("stories260k");
  if (!path) GTEST_SKIP() << "../shared/data/stories260k not present";
  const auto w = load_model("stories260k");
  EXPECT_EQ(w->config.dim, 64);
  EXPECT_EQ(w->config.layers, 5);
  EXPECT_EQ(w->config.kv_heads, 4);
  const LlamaCpu model(w);
  const std::vector<int> ids = {1, 403, 407, 261, 378, 429, 266, 282};
  KvCache a = model.new_cache(8), b = model.new_cache(8);
  const MatrixF all = model.forward(ids, a);
  EXPECT_TRUE(all.allFinite());
  for (int t = 0; t < 8; ++t) {
    const MatrixF one = model.forward({ids[t]}, b);
    EXPECT_LT((one.row(0) - all.row(t)).cwiseAbs().maxCoeff(), 1e-4) << t;
  }
}

TEST(Rope, RemovingUndoesApplyingInBothStyles) {
  LlamaConfig c;
  c.head_dim = c.rotary_dims = 8;
  c.rope_theta = 10000;
  for (RopeStyle style : {RopeStyle::interleaved, RopeStyle::neox}) {
    c.rope_style = style;
    float x[8] = {1, -2, 3, 0.5f, -1, 4, 2, -3}, y[8];
    std::memcpy(y, x, sizeof x);
    apply_rope(y, 1234, c);
    EXPECT_GT(std::abs(y[0] - x[0]) + std::abs(y[1] - x[1]), 1e-3);
    apply_rope(y, 1234, c, -1);
    for (int i = 0; i < 8; ++i) EXPECT_NEAR(y[i], x[i], 1e-5);
  }
}

}  // namespace
}  // namespace lrb::test

namespace lrb::test {
namespace {

// kv_compression on the real model's cache: every record carries fidelity.model; the exact method is exact
// at the model's output, a lossy one is not.
TEST(Smollm2, KvCacheMethodsGetModelLevelFidelity) {
  NEED_SMOLLM2();
  TempDir dir;
  write_file(dir / "c.json", R"({"name": "kvm", "task": "kv_compression", "backend": "cpu",
    "workload": {"model": "smollm2-135m", "generator": "model", "tokens": 128, "queries": 4,
                 "calibration_tokens": 64, "decode_tokens": 8},
    "methods": ["identity", "int8_per_token"], "measure": {"min_samples": 2, "timeout_s": 0.05}})");
  const auto r = run_lrbench("run " + (dir / "c.json").string() + " --out " + dir.path().string() + " -q");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const auto by_method = records_by_method(dir / "kvm.jsonl");
  ASSERT_EQ(by_method.size(), 2u);
  const Json& exact = by_method.at("identity")["fidelity"]["model"];
  EXPECT_LT(exact["kl"].get<double>(), 1e-6) << exact.dump();
  EXPECT_EQ(exact["top1_agreement"].get<double>(), 1.0);
  EXPECT_EQ(exact["ppl"].get<double>(), exact["ppl_reference"].get<double>());
  const Json& lossy = by_method.at("int8_per_token")["fidelity"]["model"];
  EXPECT_GT(lossy["kl"].get<double>(), 1e-6) << lossy.dump();
  EXPECT_EQ(lossy["tokens"].get<int>(), 8);
  // A shape override is refused: the cache is the model's own.
  write_file(dir / "bad.json", R"({"name": "b", "task": "kv_compression", "backend": "cpu",
    "workload": {"model": "smollm2-135m", "generator": "model", "heads": 2}, "methods": ["identity"]})");
  const auto bad = run_lrbench("validate " + (dir / "bad.json").string());
  EXPECT_EQ(bad.exit_code, 2) << bad.output;
  EXPECT_NE(bad.output.find("the model's own shape"), std::string::npos) << bad.output;
}

}  // namespace
}  // namespace lrb::test

namespace lrb::test {
namespace {

// lowrank_linear on a real weight: a full-rank SVD is exact at the model's output, a rank-8 one is not, and a
// full-layer method (dense) stands for the unmodified layer.
TEST(Smollm2, LowrankMethodsGetModelLevelFidelity) {
  NEED_SMOLLM2();
  TempDir dir;
  write_file(dir / "c.json", R"({"name": "lrm", "task": "lowrank_linear", "backend": "cpu",
    "workload": {"model": "smollm2-135m", "generator": "model", "projection": "o", "layer": 2, "tokens": 16,
                 "eval_tokens": 32},
    "axes": {"rank": [8, 576]}, "methods": ["two_gemm", "dense"], "measure": {"min_samples": 2, "timeout_s": 0.05}})");
  const auto r = run_lrbench("run " + (dir / "c.json").string() + " --out " + dir.path().string() + " -q");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  std::map<std::string, Json> got;
  for (const auto& [key, record] : records_by_method(dir / "lrm.jsonl")) got[key] = record["fidelity"]["model"];
  ASSERT_EQ(got.size(), 4u);
  const Json& full = got["two_gemm/rank=576"];
  EXPECT_LT(full["kl"].get<double>(), 1e-6) << full.dump();
  EXPECT_EQ(full["top1_agreement"].get<double>(), 1.0);
  EXPECT_GT(got["two_gemm/rank=8"]["kl"].get<double>(), 1e-4) << got["two_gemm/rank=8"].dump();
  EXPECT_LT(got["dense/rank=8"]["kl"].get<double>(), 1e-6) << got["dense/rank=8"].dump();
}

}  // namespace
}  // namespace lrb::test

namespace lrb::test {
namespace {

// lowrank_ffn on a real layer's FFN: at full rank the three SVDs give the model back, at rank 8 they do not,
// and dense_ffn stands for the unmodified FFN; X is the layer's real FFN input.
TEST(Smollm2, LowrankFfnGetsModelLevelFidelityFromARealLayer) {
  NEED_SMOLLM2();
  TempDir dir;
  write_file(dir / "c.json", R"({"name": "ffn", "task": "lowrank_ffn", "backend": "cpu",
    "workload": {"model": "smollm2-135m", "generator": "model", "layer": 3, "tokens": 12, "eval_tokens": 32},
    "axes": {"rank": [8, 576]}, "methods": ["unfused_lowrank", "dense_ffn"],
    "measure": {"min_samples": 2, "timeout_s": 0.05}})");
  const auto r = run_lrbench("run " + (dir / "c.json").string() + " --out " + dir.path().string() + " -q");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  std::map<std::string, Json> got;
  for (const auto& [key, record] : records_by_method(dir / "ffn.jsonl")) {
    EXPECT_EQ(record["status"], "ok") << record.dump();
    EXPECT_LT(record["fidelity"]["rel_error"].get<double>(), 1e-5) << record["fidelity"].dump();
    got[key] = record["fidelity"]["model"];
  }
  ASSERT_EQ(got.size(), 4u);
  EXPECT_LT(got["unfused_lowrank/rank=576"]["kl"].get<double>(), 1e-6) << got["unfused_lowrank/rank=576"].dump();
  EXPECT_GT(got["unfused_lowrank/rank=8"]["kl"].get<double>(), 1e-4) << got["unfused_lowrank/rank=8"].dump();
  EXPECT_LT(got["dense_ffn/rank=8"]["kl"].get<double>(), 1e-6) << got["dense_ffn/rank=8"].dump();
}

// lrbench model --svd-linears with lists: one compressed model per (SVD kind, energy) from one load; at full
// energy both kinds give back the model (whitened: W S S^-1), at half the energy neither does.
TEST(Smollm2, ModelCommandComparesSvdCompressedModels) {
  NEED_SMOLLM2();
  TempDir dir;
  const auto r = run_lrbench("model smollm2-135m --tokens 16 --backend cpu --svd-linears k --svd plain,whitened "
                             "--svd-energy 1,0.5 --calibration-tokens 32 --out " + (dir / "m.json").string());
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const Json rec = Json::parse(read_file(dir / "m.json"));
  const Json& runs = rec["svd_compressed"];
  ASSERT_EQ(runs.size(), 4u) << rec.dump().substr(0, 800);
  for (int i : {0, 2}) {
    EXPECT_LT(runs[i]["fidelity"]["mean_kl"].get<double>(), 1e-6) << runs[i].dump().substr(0, 600);
    EXPECT_EQ(runs[i]["fidelity"]["top1_agreement"].get<double>(), 1.0);
    EXPECT_GT(runs[i]["param_ratio"].get<double>(), 0.99);
  }
  for (int i : {1, 3}) EXPECT_GT(runs[i]["fidelity"]["mean_kl"].get<double>(), 1e-4) << runs[i].dump().substr(0, 600);
  EXPECT_EQ(runs[2]["svd"], "whitened");
  EXPECT_EQ(runs[2]["calibration_tokens"], 32);
  const auto bad = run_lrbench("model smollm2-135m --tokens 16 --backend cpu --svd-linears q");
  EXPECT_NE(bad.exit_code, 0);
  EXPECT_NE(bad.output.find("--svd-param-ratio or --svd-energy"), std::string::npos) << bad.output;
}

// adapter_projection on SmolLM2's real base weights with the real MedAI adapters; the methods still match
// FP64, and fidelity.model is found from each method's outputs on identity inputs: an exact method
// (sequential_lora's fp32 CPU path) is exact at the model's output, base_only costs exactly what ignoring
// the adapters costs (its KL is the adapters' own effect), and the lossy s2lc is measured as lossy.
TEST(Smollm2, AdapterMethodsGetModelLevelFidelity) {
  NEED_SMOLLM2();
  const auto data = source_dir() / "../shared/data/smollm135m-lora-medai";
  if (!std::filesystem::exists(data)) GTEST_SKIP() << "no ../shared/data/smollm135m-lora-medai";
  TempDir dir;
  write_file(dir / "c.json", R"({"name": "am", "task": "adapter_projection", "backend": "cpu",
    "workload": {"model": "smollm-135m", "projections": ["q", "v"], "layers": 0, "K": 4, "rank": 16, "batch": 8,
                 "generator": "peft", "peft_dir": ")" + data.string() + R"(", "base_weights": "smollm2-135m",
                 "model_eval_tokens": 24, "model_eval_adapters": 2},
    "methods": ["sequential_lora", "base_only", {"id": "s2lc", "params": {"basis_rank": 8}}],
    "measure": {"min_samples": 2, "timeout_s": 0.05}})");
  const auto r = run_lrbench("run " + (dir / "c.json").string() + " --out " + dir.path().string() + " -q");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const auto by = records_by_method(dir / "am.jsonl");
  ASSERT_EQ(by.size(), 3u);
  for (const auto& [label, j] : by) {  // W is the GGUF's (in fp16); the record says where base and adapters came from
    EXPECT_EQ(j["status"], "ok") << j.dump().substr(0, 800);
    EXPECT_NE(j["workload"]["base"].get<std::string>().find("the real base weights of smollm2-135m"), std::string::npos);
    EXPECT_NE(j["workload"]["base"].get<std::string>().find("trained on SmolLM-135M-Instruct (v1)"), std::string::npos);
  }
  const Json& exact = by.at("sequential_lora")["fidelity"]["model"];
  ASSERT_TRUE(exact.is_object()) << by.at("sequential_lora").dump().substr(0, 800);
  EXPECT_LT(exact["kl"].get<double>(), 1e-6) << exact.dump();
  EXPECT_EQ(exact["top1_agreement"].get<double>(), 1.0);
  EXPECT_EQ(exact["tokens"].get<int>(), 24);
  EXPECT_EQ(exact["adapters"], Json::parse("[0, 2]"));
  const double effect = exact["adapter_effect"]["kl"].get<double>();
  EXPECT_GT(effect, 1e-4) << "the MedAI adapters change the model: " << exact.dump();
  const Json& base = by.at("base_only")["fidelity"]["model"];
  EXPECT_NEAR(base["kl"].get<double>(), base["adapter_effect"]["kl"].get<double>(), 1e-9 + 1e-6 * effect);
  const Json& lossy = by.at("s2lc[basis_rank=8]")["fidelity"]["model"];
  EXPECT_GT(lossy["kl"].get<double>(), 100 * exact["kl"].get<double>()) << lossy.dump();
  EXPECT_EQ(lossy["per_adapter"].size(), 2u);
}

}  // namespace
}  // namespace lrb::test

namespace lrb::test {
namespace {

TEST(Llama2c, CheckpointsThatLieAreRefusedBeforeReadingWeights) {
  auto header = [](std::vector<std::int32_t> h, std::size_t floats) {
    std::vector<char> b(28 + 4 * floats, 0);
    std::memcpy(b.data(), h.data(), 28);
    return b;
  };
  auto error = [](const std::vector<char>& b) {
    try {
      (void)load_llama2c("x.bin", b);
    } catch (const std::exception& e) {
      return std::string(e.what());
    }
    return std::string("(no error)");
  };
  EXPECT_NE(error(std::vector<char>(10)).find("shorter than a llama2.c header"), std::string::npos);
  EXPECT_NE(error(header({8, 16, 1, 2, 1, 8, 4}, 10)).find("but its header needs"), std::string::npos);
  EXPECT_NE(error(header({8, 16, 1, 2, 1, 8, 1 << 30}, 0)).find("header field 6"), std::string::npos);
  EXPECT_NE(error(header({8, 16, 1, 3, 1, 8, 4}, 0)).find("do not fit dim"), std::string::npos);
  // The committed seed is a valid tiny model.
  std::ifstream in(source_dir() / "fuzz/corpus/llama2c/tiny.bin", std::ios::binary);
  const std::vector<char> tiny((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(load_llama2c("tiny.bin", tiny).config.dim, 8);
}

}  // namespace
}  // namespace lrb::test

namespace lrb::test {
namespace {

TEST(Stories260k, SvdCompressionOfEveryLinearIsExactAtFullEnergyAndNotBelow) {
  if (!find_model_file("stories260k")) GTEST_SKIP() << "../shared/data/stories260k not present";
  const auto w = load_model("stories260k");
  const std::vector<int> ids = {1, 403, 407, 261, 378, 429, 266, 282, 300, 12, 45, 99};
  KvCache kv = LlamaCpu(w).new_cache(12);
  const MatrixF want = LlamaCpu(w).forward(ids, kv);
  LinearCompression how;
  how.linears = {"q", "k", "v", "o", "gate", "up", "down"};
  auto logits_with = [&](const LinearCompression& h) {
    const CompressedModel cm = compress_linears(*w, h, ids);
    KvCache c = LlamaCpu(cm.weights).new_cache(12);
    return std::make_pair(LlamaCpu(cm.weights).forward(ids, c), cm.params_after / cm.params_before);
  };
  how.energy = 1.0;
  const auto [exact, ratio_full] = logits_with(how);
  EXPECT_LT((exact - want).cwiseAbs().maxCoeff(), 1e-3);
  EXPECT_EQ(ratio_full, 1.0);  // full rank keeps no fewer parameters than the dense layer
  how.energy = 0;
  how.param_ratio = 0.3;
  for (const char* svd : {"plain", "whitened"}) {
    how.svd = svd;
    const auto [lossy, ratio] = logits_with(how);
    EXPECT_GT((lossy - want).cwiseAbs().maxCoeff(), 1e-2) << svd;
    EXPECT_NEAR(ratio, 0.3, 0.05) << svd;
  }
}

}  // namespace
}  // namespace lrb::test
