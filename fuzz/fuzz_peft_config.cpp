// libFuzzer target: the PEFT adapter_config.json reader (workloads/adapter_projection/peft.cpp) on arbitrary
// bytes, then its module matching on a few module names.
#include <cstddef>
#include <cstdint>
#include <regex>
#include <stdexcept>
#include <string>

#include "workloads/adapter_projection/peft.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  try {
    const lrb::PeftConfig c = lrb::parse_peft_config(std::string(reinterpret_cast<const char*>(data), size), "fuzz");
    (void)c.scale();
    for (const char* m : {"model.layers.0.self_attn.q_proj", "transformer.h.11.attn.c_attn", ""}) (void)c.targets(m);
  } catch (const std::runtime_error&) {
  } catch (const std::regex_error&) {
  }
  return 0;
}
