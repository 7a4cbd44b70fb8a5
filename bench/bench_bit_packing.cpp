// kvtc's LSB-first bit packing and unpacking (methods/kvtc/kvtc_quant.hpp): what every coded token's row goes
// through on the CPU path, at the widths the plans use.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <random>
#include <vector>

#include "methods/kvtc/kvtc_quant.hpp"

namespace {

std::vector<std::uint8_t> values(std::size_t n, int width) {
  std::mt19937 rng(7);
  std::vector<std::uint8_t> v(n);
  for (auto& x : v) x = static_cast<std::uint8_t>(rng() & ((1u << width) - 1));
  return v;
}

void BM_PackBits(benchmark::State& state) {
  const int width = static_cast<int>(state.range(0));
  const auto v = values(1 << 20, width);
  std::vector<std::uint8_t> out;
  for (auto _ : state) {
    out.clear();
    lrb::kvtc::pack_bits(v, width, out);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()) * static_cast<std::int64_t>(v.size()));
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) * static_cast<std::int64_t>(out.size()));
}
BENCHMARK(BM_PackBits)->Arg(2)->Arg(4)->Arg(8);

void BM_UnpackBits(benchmark::State& state) {
  const int width = static_cast<int>(state.range(0));
  const auto v = values(1 << 20, width);
  std::vector<std::uint8_t> packed, out;
  lrb::kvtc::pack_bits(v, width, packed);
  for (auto _ : state) {
    out.clear();
    lrb::kvtc::unpack_bits(packed, width, v.size(), out);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()) * static_cast<std::int64_t>(v.size()));
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) * static_cast<std::int64_t>(packed.size()));
}
BENCHMARK(BM_UnpackBits)->Arg(2)->Arg(4)->Arg(8);

}  // namespace
