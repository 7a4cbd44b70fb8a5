// The SmolLM2 BPE tokenizer (workloads/model/tokenizer.hpp) on real text: what `lrbench model` and the
// fidelity passes run before every evaluation. Needs the GGUF (scripts/setup); reports an error otherwise.
#include <benchmark/benchmark.h>

#include <fstream>
#include <memory>
#include <sstream>

#include "workloads/model/gguf.hpp"
#include "workloads/model/llama.hpp"
#include "workloads/model/tokenizer.hpp"

namespace {

void BM_TokenizerEncode(benchmark::State& state) {
  const auto path = lrb::model::find_model_file("smollm2-135m");
  std::ifstream in("/usr/share/common-licenses/GPL-3");
  if (!path || !in) {
    state.SkipWithError("needs deps/models' SmolLM2 GGUF (scripts/setup) and /usr/share/common-licenses/GPL-3");
    return;
  }
  const lrb::model::GgufFile gguf(*path);
  const lrb::model::BpeTokenizer tok(gguf);
  std::stringstream text;
  text << in.rdbuf();
  const std::string s = text.str().substr(0, static_cast<std::size_t>(state.range(0)));
  std::size_t tokens = 0;
  for (auto _ : state) {
    const auto ids = tok.encode(s);
    tokens = ids.size();
    benchmark::DoNotOptimize(ids.data());
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) * static_cast<std::int64_t>(s.size()));
  state.counters["tokens"] = static_cast<double>(tokens);
}
BENCHMARK(BM_TokenizerEncode)->Arg(4096)->Arg(32768)->Unit(benchmark::kMillisecond);

}  // namespace
