// kvtc's group quantizer and dequantizer (methods/kvtc/kvtc_quant.hpp) on groups of 64 values, per type:
// the CPU path's inner loop on both sides.
#include <benchmark/benchmark.h>

#include <random>
#include <vector>

#include "methods/kvtc/kvtc_quant.hpp"

namespace {

using lrb::kvtc::CodeType;

void BM_QuantizeGroup(benchmark::State& state) {
  const auto t = static_cast<CodeType>(state.range(0));
  std::mt19937 rng(13);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<float> x(64);
  for (auto& v : x) v = normal(rng);
  std::vector<std::uint8_t> codes(x.size());
  for (auto _ : state) benchmark::DoNotOptimize(lrb::kvtc::quantize_group_into(x, t, codes));
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()) * 64);
  state.SetLabel(lrb::kvtc::name_of(t));
}
BENCHMARK(BM_QuantizeGroup)->DenseRange(1, 4);

void BM_DequantizeGroup(benchmark::State& state) {
  const auto t = static_cast<CodeType>(state.range(0));
  std::mt19937 rng(13);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<float> x(64), out(64);
  for (auto& v : x) v = normal(rng);
  std::vector<std::uint8_t> codes(x.size());
  const auto params = lrb::kvtc::quantize_group_into(x, t, codes);
  for (auto _ : state) {
    lrb::kvtc::dequantize_group(params.shift, params.scale, codes, t, out);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()) * 64);
  state.SetLabel(lrb::kvtc::name_of(t));
}
BENCHMARK(BM_DequantizeGroup)->DenseRange(1, 4);

}  // namespace
