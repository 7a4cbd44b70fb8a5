// libFuzzer target: the GGUF reader (workloads/model/gguf.cpp) on arbitrary bytes, then every tensor it
// accepted dequantized, and the tokenizer built from its metadata where it has one, encoding a short text.
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <vector>

#include "workloads/model/gguf.hpp"
#include "workloads/model/tokenizer.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  try {
    const lrb::model::GgufFile f("fuzz.gguf", std::vector<std::uint8_t>(data, data + size));
    for (const auto& [name, t] : f.tensors())
      if (t.elements < (1u << 20)) (void)f.dequantize(name);
    if (f.metadata().contains("tokenizer.ggml.tokens")) {
      const lrb::model::BpeTokenizer tok(f);
      (void)tok.decode(tok.encode("Hello, world 123 it's"));
    }
  } catch (const std::runtime_error&) {
  }
  return 0;
}
