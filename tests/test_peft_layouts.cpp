// The PEFT loader on what PEFT writes, and the safetensors reader on what it must refuse: one folder per
// adapter with its own r and alpha, flat folders, GPT-2's fused c_attn (the real adapter in
// ../shared/data/gpt2-lora-winkitee), LoRA only, and headers that lie about their tensors.
#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <fstream>

#include <fmt/format.h>

#include "tests/support/cli.hpp"
#include "tests/support/method_check.hpp"
#include "workloads/adapter_projection/peft.hpp"
#include "workloads/adapter_projection/problem.hpp"

namespace lrb::test {
namespace {

// A safetensors file from a header text and a data section.
void write_safetensors(const std::filesystem::path& p, const std::string& header, const std::vector<float>& data) {
  std::ofstream out(p, std::ios::binary);
  const std::uint64_t n = header.size();
  for (int i = 0; i < 8; ++i) out.put(static_cast<char>((n >> (8 * i)) & 0xFF));
  out << header;
  out.write(reinterpret_cast<const char*>(data.data()), static_cast<std::streamsize>(data.size() * 4));
}

// One LoRA layer of the `tiny` model's q projection (40 -> 40) at rank r, F32, values `fill`.
void write_tiny_adapter(const std::filesystem::path& p, int r, float fill) {
  const std::string a = "base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight";
  const std::string b = "base_model.model.model.layers.0.self_attn.q_proj.lora_B.weight";
  const std::size_t na = static_cast<std::size_t>(r) * 40, nb = 40u * r;
  const std::string header = fmt::format(R"({{"{}": {{"dtype": "F32", "shape": [{}, 40], "data_offsets": [0, {}]}},
      "{}": {{"dtype": "F32", "shape": [40, {}], "data_offsets": [{}, {}]}}}})", a, r, 4 * na, b, r, 4 * na, 4 * (na + nb));
  std::vector<float> data(na + nb);
  for (std::size_t i = 0; i < data.size(); ++i) data[i] = fill * static_cast<float>((i % 7) + 1) / 7.0f;
  write_safetensors(p, header, data);
}

std::string config_json(int r, double alpha, const std::string& extra = "") {
  return fmt::format(R"({{"peft_type": "LORA", "r": {}, "lora_alpha": {}, "target_modules": ["q_proj"]{}}})", r, alpha,
                     extra);
}

Json tiny_values(const std::filesystem::path& dir, int K, int r) {
  return {{"model", "tiny"}, {"projections", {"q"}}, {"layers", 1}, {"K", K}, {"rank", r}, {"batch", 4},
          {"generator", "peft"}, {"peft_dir", dir.string()}};
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const std::exception& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(PeftLayouts, OneFolderPerAdapterEachWithItsOwnAlpha) {
  TempDir dir;
  const double alphas[] = {2, 1, 4, 4, 4};
  for (int k = 0; k < 5; ++k) {
    const auto sub = dir / fmt::format("adapter{}", k);
    std::filesystem::create_directories(sub);
    write_file(sub / "adapter_config.json", config_json(2, alphas[k]));
    write_tiny_adapter(sub / "adapter_model.safetensors", 2, 0.01f * (k + 1));
  }
  write_file(dir / ".hidden", "not an adapter");
  const auto problem = Registry::instance().family("adapter_projection")->make_problem(make_point("adapter_projection",
                                                                                                  tiny_values(dir.path(), 5, 2)));
  const auto& p = static_cast<const AdapterProblem&>(*problem);
  ASSERT_EQ(p.projections[0].adapters.size(), 5u);
  for (int k = 0; k < 5; ++k) EXPECT_FLOAT_EQ(p.projections[0].adapters[k].scale, alphas[k] / 2) << "adapter " << k;
  const MethodRun r = check_method("adapter_projection", "sequential_lora", tiny_values(dir.path(), 5, 2));
  EXPECT_FALSE(r.check.failure) << *r.check.failure;
}

TEST(PeftLayouts, FlatFolderSkipsHiddenFilesAndRefusesPickles) {
  TempDir dir;
  write_file(dir / "adapter_config.json", config_json(2, 4));
  write_tiny_adapter(dir / "a.safetensors", 2, 0.01f);
  write_tiny_adapter(dir / "b.safetensors", 2, 0.02f);
  write_tiny_adapter(dir / ".a.safetensors", 2, 0.03f);  // editor or OS debris: not an adapter
  EXPECT_EQ(peft_adapter_files(dir.path()).size(), 2u);
  write_file(dir / "c.bin", "pickle");
  EXPECT_NE(error_of([&] { peft_adapters(dir.path()); }).find("PyTorch pickle (.bin)"), std::string::npos);
}

TEST(PeftLayouts, LoraOnlyWithMessagesThatNameTheFileAndField) {
  auto err = [](const std::string& text) { return error_of([&] { parse_peft_config(text, "x/adapter_config.json"); }); };
  EXPECT_NE(err(config_json(2, 4, R"(, "use_dora": true)")).find("DoRA"), std::string::npos);
  EXPECT_NE(err(R"({"peft_type": "IA3", "r": 2, "lora_alpha": 4, "target_modules": ["q_proj"]})").find("IA3"),
            std::string::npos);
  EXPECT_NE(err(config_json(2, 4, R"(, "rank_pattern": {"q_proj": 4})")).find("rank_pattern"), std::string::npos);
  EXPECT_NE(err(config_json(2, 4).replace(config_json(2, 4).find("\"r\": 2"), 6, "\"r\": 4294967298"))
                .find("(got 4294967298)"),
            std::string::npos);
  EXPECT_NE(err(config_json(2, 4, R"(, "r": 3)")).find("duplicate key \"r\""), std::string::npos);
  EXPECT_NE(err(config_json(2, 4)).find("(no error)"), std::string::npos);
  // Found by fuzz_peft_config: a null or non-boolean use_dora threw nlohmann's own type_error.
  EXPECT_NE(err(config_json(2, 4, R"(, "use_dora": null)")).find("(no error)"), std::string::npos);
  EXPECT_NE(err(config_json(2, 4, R"(, "use_dora": "no")")).find("\"use_dora\" must be true or false"),
            std::string::npos);
  // target_modules as PEFT allows: a regex on the full module name, or "all-linear".
  const PeftConfig regex = parse_peft_config(R"({"r": 2, "lora_alpha": 4, "target_modules": ".*\\.(q|v)_proj"})", "x");
  EXPECT_TRUE(regex.targets("model.layers.3.self_attn.q_proj"));
  EXPECT_FALSE(regex.targets("model.layers.3.self_attn.o_proj"));
  EXPECT_TRUE(parse_peft_config(R"({"r": 2, "lora_alpha": 4, "target_modules": "all-linear"})", "x").targets("any"));
  EXPECT_NE(err(R"({"r": 2, "lora_alpha": 4, "target_modules": "("})").find("not a valid regex"), std::string::npos);
}

TEST(PeftLayouts, Fp32ValuesBeyondFp16AreRefusedNamingTheTensor) {
  TempDir dir;
  write_file(dir / "adapter_config.json", config_json(2, 4));
  write_tiny_adapter(dir / "a.safetensors", 2, 1e5f);
  const std::string e = error_of([&] {
    Registry::instance().family("adapter_projection")->make_problem(make_point("adapter_projection",
                                                                               tiny_values(dir.path(), 1, 2)));
  });
  EXPECT_NE(e.find("which fp16 cannot hold"), std::string::npos) << e;
  EXPECT_NE(e.find("q_proj.lora_A.weight"), std::string::npos) << e;
}

struct BadHeader {
  const char* name;
  std::string header;
  std::size_t floats;
  const char* message;
};

TEST(Safetensors, HeadersThatLieAreRefusedBeforeAnyAllocation) {
  const std::string t = R"("t": {"dtype": "F32", "shape": [2, 2], "data_offsets": )";
  const std::string u = R"("u": {"dtype": "F32", "shape": [2, 2], "data_offsets": )";
  const BadHeader cases[] = {
      {"overlap", "{" + t + "[0, 16]}, " + u + "[8, 24]}}", 6, "overlap another tensor"},
      {"aliased", "{" + t + "[0, 16]}, " + u + "[0, 16]}}", 4, "overlap another tensor"},
      {"float_offsets", "{" + t + "[0.0, 16.0]}}", 4, "data_offsets"},
      {"negative_offsets", "{" + t + "[-16, 0]}}", 4, "data_offsets"},
      {"listed_twice", "{" + t + "[0, 16]}, " + t + "[0, 16]}}", 4, "duplicate key \"t\""},
      {"hole", "{" + t + "[16, 32]}}", 8, "belong to no tensor"},
      {"trailing_bytes", "{" + t + "[0, 16]}}", 8, "belong to no tensor"},
      {"bytes_unlike_shape", R"({"t": {"dtype": "F32", "shape": [3, 2], "data_offsets": [0, 16]}})", 4, "16 bytes for 6"},
      {"negative_shape", R"({"t": {"dtype": "F32", "shape": [-2, 2], "data_offsets": [0, 16]}})", 4, "shape entry -2"},
      {"unknown_dtype", R"({"t": {"dtype": "Q4", "shape": [2, 2], "data_offsets": [0, 16]}})", 4, "unknown dtype"},
      {"missing_dtype", R"({"t": {"shape": [2, 2], "data_offsets": [0, 16]}})", 4, "exactly dtype, shape"},
      {"not_an_object", "[1, 2]", 0, "must be a JSON object"},
      {"deep", std::string(5000, '[') + std::string(5000, ']'), 0, "nested deeper"},
  };
  TempDir dir;
  for (const auto& c : cases) {
    const auto path = dir / (std::string(c.name) + ".safetensors");
    write_safetensors(path, c.header, std::vector<float>(c.floats, 1.0f));
    const std::string e = error_of([&] { SafetensorsFile f(path); });
    EXPECT_NE(e.find(c.message), std::string::npos) << c.name << ": " << e;
    EXPECT_NE(e.find(path.string()), std::string::npos) << c.name << ": the file is named: " << e;
  }
  // The valid neighbour of these cases reads.
  write_safetensors(dir / "ok.safetensors", "{" + t + "[0, 16]}, " + u + "[16, 32]}}", std::vector<float>(8, 1.0f));
  EXPECT_EQ(SafetensorsFile(dir / "ok.safetensors").tensors().size(), 2u);
}

// The real GPT-2 adapter, PEFT's standard output: fused q|k|v as one projection of d_out 2304.
TEST(PeftLayouts, RealGpt2AdapterLoadsAsOneFusedQkvProjection) {
  const auto dir = source_dir() / ".." / "shared" / "data" / "gpt2-lora-winkitee";
  if (!std::filesystem::exists(dir / "adapter_config.json")) GTEST_SKIP() << "no GPT-2 adapter at " << dir.string();
  const Json values = {{"model", "gpt2"}, {"projections", {"qkv"}}, {"layers", 12}, {"K", 2}, {"rank", 8},
                       {"batch", 3}, {"generator", "peft"}, {"peft_dir", dir.string()}};
  const MethodRun r = check_method("adapter_projection", "sequential_lora", values);
  ASSERT_TRUE(r.support.ok) << r.support.reason;
  ASSERT_FALSE(r.check.failure) << *r.check.failure;
  const auto& p = static_cast<const AdapterProblem&>(*r.problem);
  ASSERT_EQ(p.projections.size(), 12u);
  EXPECT_EQ(p.projections[0].d_out, 2304);
  EXPECT_EQ(p.projections[0].adapters[0].A.rows(), 8);
  EXPECT_EQ(p.projections[0].adapters[0].A.cols(), 768);
  EXPECT_FLOAT_EQ(p.projections[0].adapters[0].scale, 2.0f);  // lora_alpha 16 / r 8
  EXPECT_GT(p.projections[11].adapters[1].B.cast<float>().norm(), 0.0f);
  EXPECT_LT(r.check.fidelity["rel_error"].get<double>(), 1e-5);
}

}  // namespace
}  // namespace lrb::test
