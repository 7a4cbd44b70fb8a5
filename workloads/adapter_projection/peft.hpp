#pragma once
// Real LoRA adapters from Hugging Face PEFT checkpoints: adapter_config.json (r, lora_alpha,
// target_modules, use_rslora) and adapter_model.safetensors files (8-byte little-endian header length,
// a JSON header {name: {dtype, shape, data_offsets}}, then the raw tensors).
#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "harness/tensor.hpp"

namespace lrb {

struct PeftConfig {
  int r = 0;
  double lora_alpha = 0;
  bool use_rslora = false;
  std::vector<std::string> target_modules;
  double scale() const;  // alpha / r, or alpha / sqrt(r) with rsLoRA
};

// Throws std::runtime_error naming the file and what is wrong.
PeftConfig read_peft_config(const std::filesystem::path& adapter_dir);

class SafetensorsFile {
 public:
  struct Tensor {
    std::string dtype;  // F32, F16, BF16
    std::vector<std::int64_t> shape;
    std::size_t begin = 0, end = 0;  // byte range inside the data section
  };
  explicit SafetensorsFile(const std::filesystem::path& file);
  const std::map<std::string, Tensor>& tensors() const { return tensors_; }
  bool has(const std::string& name) const { return tensors_.count(name) > 0; }
  // A 2-D tensor as a row-major fp32 matrix (F32, F16 or BF16 on disk).
  MatrixF matrix(const std::string& name) const;
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
  std::map<std::string, Tensor> tensors_;
  std::vector<std::uint8_t> data_;
};

// The adapter files of a folder (*.safetensors, sorted by name): adapter k of a problem is file k.
std::vector<std::filesystem::path> peft_adapter_files(const std::filesystem::path& adapter_dir);

// PEFT's tensor names for one layer's module: base_model.model.model.layers.<L>.<block>.<module>.lora_{A,B}.weight
std::string peft_tensor_name(int layer, const std::string& module, char which /* 'A' or 'B' */);
// lrbench projection kind (q, k, v, o, gate, up, down) -> PEFT module name (q_proj, ...).
std::string peft_module_of(const std::string& projection);

}  // namespace lrb
