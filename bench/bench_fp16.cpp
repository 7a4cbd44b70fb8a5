// fp16 conversion both ways (Eigen::half, what problems store and CPU paths convert in prepare), and kvtc's
// directed fp16 rounding of shifts and scales.
#include <benchmark/benchmark.h>

#include <random>
#include <vector>

#include <Eigen/Core>

#include "methods/kvtc/kvtc_quant.hpp"

namespace {

std::vector<float> floats(std::size_t n) {
  std::mt19937 rng(11);
  std::normal_distribution<float> normal(0.0f, 3.0f);
  std::vector<float> v(n);
  for (auto& x : v) x = normal(rng);
  return v;
}

void BM_FloatToHalf(benchmark::State& state) {
  const auto v = floats(1 << 20);
  std::vector<Eigen::half> h(v.size());
  for (auto _ : state) {
    for (std::size_t i = 0; i < v.size(); ++i) h[i] = Eigen::half(v[i]);
    benchmark::DoNotOptimize(h.data());
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()) * static_cast<std::int64_t>(v.size()));
}
BENCHMARK(BM_FloatToHalf);

void BM_HalfToFloat(benchmark::State& state) {
  const auto v = floats(1 << 20);
  std::vector<Eigen::half> h(v.begin(), v.end());
  std::vector<float> out(v.size());
  for (auto _ : state) {
    for (std::size_t i = 0; i < h.size(); ++i) out[i] = static_cast<float>(h[i]);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()) * static_cast<std::int64_t>(v.size()));
}
BENCHMARK(BM_HalfToFloat);

void BM_Fp16RoundDown(benchmark::State& state) {
  const auto v = floats(1 << 16);
  for (auto _ : state)
    for (float x : v) benchmark::DoNotOptimize(lrb::kvtc::fp16_round_down(x));
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()) * static_cast<std::int64_t>(v.size()));
}
BENCHMARK(BM_Fp16RoundDown);

}  // namespace
