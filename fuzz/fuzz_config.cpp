// libFuzzer target: the config parser and validator (harness/config.cpp, harness/strict_json.cpp) on
// arbitrary bytes. Any input must give a config or errors, never a crash, a hang or a sanitizer report.
#include <cstddef>
#include <cstdint>
#include <string>

#include "harness/config.hpp"
#include "harness/sweep.hpp"
#include "harness/registry.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  const lrb::ConfigLoad load = lrb::parse_config(text, "fuzz");
  if (load.config) {
    // A valid config must also expand (what `run` does next) without trouble.
    for (const auto& block : load.config->blocks) {
      const lrb::TaskFamily* family = lrb::Registry::instance().family(block.task);
      if (family) (void)lrb::expand_points(block, *family).size();
    }
  }
  return 0;
}
