// S2LC's scalar k-means (methods/s2lc/s2lc_codes.hpp): its encoder runs it on every projection's coefficients,
// 16 centroids then 8 on the residual.
#include <benchmark/benchmark.h>

#include <random>
#include <vector>

#include "methods/s2lc/s2lc_codes.hpp"

namespace {

void BM_Kmeans1d(benchmark::State& state) {
  std::mt19937 rng(3);
  std::normal_distribution<double> normal(0.0, 1.0);
  std::vector<double> v(static_cast<std::size_t>(state.range(0)));
  for (auto& x : v) x = normal(rng);
  const int k = static_cast<int>(state.range(1));
  for (auto _ : state) benchmark::DoNotOptimize(lrb::s2lc::kmeans_1d(v, k));
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()) * state.range(0));
}
BENCHMARK(BM_Kmeans1d)->Args({1 << 16, 16})->Args({1 << 16, 8})->Args({1 << 20, 16});

}  // namespace
