// libFuzzer target: the llama2.c checkpoint reader (workloads/model/llama.cpp) on arbitrary bytes, then one
// forward step of what it accepted where the model is small.
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <vector>

#include "workloads/model/forward.hpp"
#include "workloads/model/llama.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  try {
    auto w = std::make_shared<const lrb::model::LlamaWeights>(
        lrb::model::load_llama2c("fuzz.bin", std::vector<char>(data, data + size)));
    if (static_cast<double>(w->config.dim) * w->config.vocab < 1e5) {
      const lrb::model::LlamaCpu cpu(w);
      auto cache = cpu.new_cache(2);
      (void)cpu.forward({0, w->config.vocab - 1}, cache);
    }
  } catch (const std::runtime_error&) {
  }
  return 0;
}
