// kvtc's plan (methods/kvtc/kvtc_plan.hpp): the dynamic program over groups of principal components that
// assigns each group a type under the bit budget, measuring the reconstruction error on held-out tokens.
#include <benchmark/benchmark.h>

#include <random>

#include <Eigen/Dense>

#include "methods/kvtc/kvtc_plan.hpp"

namespace {

// Held-out coefficients [tokens x p] with decaying variance, as a PCA basis leaves them.
Eigen::MatrixXf coefficients(int tokens, int p) {
  std::mt19937 rng(5);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  Eigen::MatrixXf c(tokens, p);
  for (int j = 0; j < p; ++j) {
    const float sd = 1.0f / (1.0f + 0.05f * static_cast<float>(j));
    for (int i = 0; i < tokens; ++i) c(i, j) = sd * normal(rng);
  }
  return c;
}

void BM_KvtcPlanDp(benchmark::State& state) {
  const int p = static_cast<int>(state.range(0));
  const Eigen::MatrixXf c = coefficients(64, p);
  const double budget = 16.0 * p / 16.0;  // CR 16 of fp16
  for (auto _ : state) benchmark::DoNotOptimize(lrb::kvtc::plan_dp(c, budget));
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()) * p);
}
BENCHMARK(BM_KvtcPlanDp)->Arg(128)->Arg(1024)->Unit(benchmark::kMillisecond);

}  // namespace
