// libFuzzer target: the safetensors reader (workloads/common/safetensors.cpp) on arbitrary bytes, then every
// 2-D floating tensor it accepted read as a matrix.
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <vector>

#include "workloads/common/safetensors.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  try {
    const lrb::SafetensorsFile f("fuzz.safetensors", std::vector<std::uint8_t>(data, data + size));
    for (const auto& [name, t] : f.tensors())
      if (t.shape.size() == 2 && (t.dtype == "F32" || t.dtype == "F16" || t.dtype == "BF16") &&
          static_cast<double>(t.shape[0]) * static_cast<double>(t.shape[1]) < (1 << 20))
        (void)f.matrix(name);
  } catch (const std::runtime_error&) {
  }
  return 0;
}
