// The PEFT loader on the real SmolLM-135M adapters in ../shared/data (skips with a message where that
// folder is absent): config, tensor layout, and the spectra that SOURCE.md reports from an independent
// measurement; then the `peft` generator through the family and a method against FP64.
#include <gtest/gtest.h>

#include <Eigen/SVD>
#include <filesystem>

#include "tests/support/cli.hpp"
#include "tests/support/method_check.hpp"
#include "workloads/adapter_projection/peft.hpp"
#include "workloads/adapter_projection/problem.hpp"

namespace lrb::test {
namespace {

std::filesystem::path data_dir() { return source_dir() / ".." / "shared" / "data" / "smollm135m-lora-medai"; }

#define REQUIRE_DATA()                                                                                   \
  do {                                                                                                   \
    if (!std::filesystem::exists(data_dir() / "adapter_config.json"))                                   \
      GTEST_SKIP() << "real adapters not present at " << data_dir().string() << ": PEFT test skipped"; \
  } while (0)

TEST(Peft, ReadsTheAdapterConfig) {
  REQUIRE_DATA();
  const PeftConfig c = read_peft_config(data_dir());
  EXPECT_EQ(c.r, 16);
  EXPECT_DOUBLE_EQ(c.lora_alpha, 32.0);
  EXPECT_DOUBLE_EQ(c.scale(), 2.0);
  EXPECT_EQ(std::set<std::string>(c.target_modules.begin(), c.target_modules.end()),
            (std::set<std::string>{"q_proj", "v_proj"}));
  EXPECT_EQ(peft_adapter_files(data_dir()).size(), 11u);
}

TEST(Peft, ReadsEveryTensorWithItsShape) {
  REQUIRE_DATA();
  const SafetensorsFile f(data_dir() / "run100ep_step500.safetensors");
  EXPECT_EQ(f.tensors().size(), 120u);  // 30 layers x {q, v} x {A, B}
  const MatrixF a = f.matrix(peft_tensor_name(29, "v_proj", 'A'));
  const MatrixF b = f.matrix(peft_tensor_name(29, "v_proj", 'B'));
  EXPECT_EQ(a.rows(), 16);
  EXPECT_EQ(a.cols(), 576);
  EXPECT_EQ(b.rows(), 192);
  EXPECT_EQ(b.cols(), 16);
  EXPECT_TRUE(a.allFinite());
  EXPECT_GT(a.norm(), 0.0f);
  EXPECT_THROW(f.matrix(peft_tensor_name(0, "o_proj", 'A')), std::runtime_error);
}

// SOURCE.md (measured by whoever assembled the data, not by lrbench): dW = 2.0 * B A at layer 15 q_proj
// has stable rank 1.3 at step 500 and 10.8 with top singular value 49 at the end of the 100-epoch run.
TEST(Peft, SpectraMatchTheIndependentMeasurement) {
  REQUIRE_DATA();
  auto spectrum = [](const char* file) {
    const SafetensorsFile f(data_dir() / file);
    const MatrixD dw = 2.0 * (f.matrix(peft_tensor_name(15, "q_proj", 'B')).cast<double>() *
                              f.matrix(peft_tensor_name(15, "q_proj", 'A')).cast<double>());
    return Eigen::JacobiSVD<MatrixD>(dw).singularValues().eval();
  };
  const auto early = spectrum("run100ep_step500.safetensors");
  const auto late = spectrum("run100ep_step32900.safetensors");
  auto stable_rank = [](const Eigen::VectorXd& s) { return s.squaredNorm() / (s(0) * s(0)); };
  EXPECT_NEAR(stable_rank(early), 1.3, 0.05);
  EXPECT_NEAR(stable_rank(late), 10.8, 0.05);
  EXPECT_NEAR(late(0), 49.0, 0.5);
}

TEST(Peft, GeneratorFeedsTheFamilyAndMethodsMatchFp64) {
  REQUIRE_DATA();
  const Json values = {{"model", "smollm-135m"}, {"projections", {"q", "v"}}, {"layers", 30}, {"K", 11},
                       {"rank", 16}, {"batch", 16}, {"popularity", "uniform"}, {"generator", "peft"},
                       {"peft_dir", data_dir().string()}};
  const MethodRun r = check_method("adapter_projection", "sequential_lora", values);
  ASSERT_FALSE(r.check.failure) << *r.check.failure;
  EXPECT_LT(r.check.fidelity["rel_error"].get<double>(), 1e-5);
  EXPECT_LT(r.check.fidelity["adapter_rel_error"].get<double>(), 1e-4);
  const auto& p = static_cast<const AdapterProblem&>(*r.problem);
  EXPECT_EQ(p.projections.size(), 60u);
  EXPECT_FLOAT_EQ(p.projections[0].adapters[0].scale, 2.0f);
  EXPECT_EQ(p.source, data_dir().string());
  // The loaded factors are the file's values (rounded to fp16 like every problem input).
  const SafetensorsFile first(peft_adapter_files(data_dir())[0]);
  const MatrixF a = first.matrix(peft_tensor_name(0, "q_proj", 'A'));
  EXPECT_EQ(p.projections[0].adapters[0].A(3, 7), Half(a(3, 7)));
}

TEST(Peft, ImpossibleRequestsFailWithTheReason) {
  REQUIRE_DATA();
  const TaskFamily* family = Registry::instance().family("adapter_projection");
  auto fails_with = [&](Json values, const std::string& why) {
    values["model"] = "smollm-135m";
    values["layers"] = 1;
    values["generator"] = "peft";
    values["peft_dir"] = data_dir().string();
    try {
      family->make_problem(make_point("adapter_projection", values));
      ADD_FAILURE() << "expected an error containing '" << why << "'";
    } catch (const std::exception& e) {
      EXPECT_NE(std::string(e.what()).find(why), std::string::npos) << e.what();
    }
  };
  fails_with({{"projections", {"q"}}, {"K", 12}, {"rank", 16}}, "holds 11 adapters");
  fails_with({{"projections", {"q"}}, {"K", 2}, {"rank", 8}}, "r=16");
  fails_with({{"projections", {"o"}}, {"K", 2}, {"rank", 16}}, "does not adapt model.layers.0.self_attn.o_proj");
}

TEST(Peft, MalformedFilesAreClearErrors) {
  TempDir dir;
  write_file(dir / "short.safetensors", "abc");
  EXPECT_THROW(SafetensorsFile(dir / "short.safetensors"), std::runtime_error);
  std::string huge(8, '\xff');
  write_file(dir / "huge.safetensors", huge + "{}");
  try {
    SafetensorsFile f(dir / "huge.safetensors");
    ADD_FAILURE() << "a header longer than the file must be refused";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("exceeds the file"), std::string::npos) << e.what();
  }
  EXPECT_THROW(peft_adapter_files(dir / "nothing-here"), std::runtime_error);
}

}  // namespace
}  // namespace lrb::test
