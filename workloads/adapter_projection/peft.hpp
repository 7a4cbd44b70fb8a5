#pragma once
// Real LoRA adapters from Hugging Face PEFT checkpoints: adapter_config.json (peft_type, r, lora_alpha,
// use_rslora, target_modules) and adapter_model.safetensors files (workloads/common/safetensors.hpp).
// Two folder layouts, as PEFT writes them:
// - one folder per adapter (PEFT's save_pretrained): DIR/<name>/adapter_config.json + adapter_model.safetensors,
//   each adapter with its own config;
// - a flat folder of checkpoints of one run: DIR/adapter_config.json + DIR/*.safetensors, sharing the config.
// Adapter k of a problem is the k-th folder or file by name. LoRA only: DoRA, IA3 and per-module
// rank/alpha patterns are rejected by name; `.bin` (pickle) checkpoints are rejected with a message.
#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "harness/tensor.hpp"
#include "workloads/common/safetensors.hpp"

namespace lrb {

struct PeftConfig {
  int r = 0;
  double lora_alpha = 0;
  bool use_rslora = false;
  std::vector<std::string> target_modules;  // module names (suffix match, as PEFT)
  std::string target_regex;                 // or a regex on the full module name, or "all-linear"
  double scale() const;                     // alpha / r, or alpha / sqrt(r) with rsLoRA
  // Whether the module at `full_name` ("transformer.h.0.attn.c_attn") is adapted.
  bool targets(const std::string& full_name) const;
};

// Throws std::runtime_error naming the file and what is wrong.
PeftConfig read_peft_config(const std::filesystem::path& adapter_dir);
// The same from text (the fuzz target); `name` stands for the file in messages.
PeftConfig parse_peft_config(const std::string& text, const std::string& name);

struct PeftAdapter {
  std::filesystem::path weights;  // the .safetensors file
  PeftConfig config;
};
// The adapters of a folder in either layout, sorted by name.
std::vector<PeftAdapter> peft_adapters(const std::filesystem::path& dir);
// Their weight files (kept for tests and tools).
std::vector<std::filesystem::path> peft_adapter_files(const std::filesystem::path& adapter_dir);

// The module path of a projection in a model architecture ("self_attn.q_proj", "attn.c_attn").
std::string peft_module_path(const std::string& architecture, const std::string& projection);
// PEFT's tensor name of one layer's module factor:
//   llama: base_model.model.model.layers.<L>.<path>.lora_{A,B}.weight
//   gpt2:  base_model.model.transformer.h.<L>.<path>.lora_{A,B}.weight
std::string peft_tensor_name(const std::string& architecture, int layer, const std::string& projection,
                             char which /* 'A' or 'B' */);
// Llama forms of the two above (module names q_proj, ...).
std::string peft_tensor_name(int layer, const std::string& module, char which);
std::string peft_module_of(const std::string& projection);

// fp32 factors to the problem's fp16, refusing values fp16 cannot hold (|v| > 65504 would become Inf and the
// failure would be blamed on the method's output).
MatrixH to_fp16_checked(const MatrixF& m, const std::string& file, const std::string& tensor);

}  // namespace lrb
