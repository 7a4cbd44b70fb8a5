#pragma once
// GGUF files (llama.cpp's model format, version 2 and 3), read strictly: the whole header (metadata, tensor
// infos) is parsed and validated against the file's size before anything is allocated for it or for the
// data: string and array lengths within the bytes left, at most 4 dimensions, element counts without
// overflow and whole quantization blocks per row, known tensor types, offsets aligned to
// general.alignment, inside the data section and not overlapping, no duplicate key or tensor. Every error
// names the file and the key or tensor at fault.
//
// Dequantization to fp32 of the types SmolLM2's GGUF holds: F32, F16, BF16, Q8_0, Q4_0, Q4_1 (ggml's block
// layouts: 32 elements per block, an fp16 scale d, for Q4_1 an fp16 minimum m, then the codes).
#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "harness/json.hpp"

namespace lrb::model {

enum class GgmlType : std::uint32_t { f32 = 0, f16 = 1, q4_0 = 2, q4_1 = 3, q8_0 = 8, bf16 = 30 };
const char* ggml_type_name(GgmlType t);

struct GgufTensor {
  std::string name;
  std::vector<std::uint64_t> dims;  // ggml order: dims[0] varies fastest (a row's length)
  GgmlType type = GgmlType::f32;
  std::uint64_t offset = 0;  // from the start of the data section
  std::uint64_t elements = 0, bytes = 0;
  std::uint64_t rows() const { return dims.empty() ? 0 : elements / dims[0]; }
};

class GgufFile {
 public:
  // Throws std::runtime_error "'<file>': <what>".
  explicit GgufFile(const std::filesystem::path& file);
  // The same from bytes in memory (the fuzz target); `name` stands for the file in messages.
  GgufFile(const std::string& name, std::vector<std::uint8_t> bytes);

  std::uint32_t version() const { return version_; }
  // Metadata as JSON: integers and floats as numbers, bools, strings, arrays (of one type each).
  const Json& metadata() const { return metadata_; }
  // A metadata value of the expected kind, or an error naming the key ("missing", or "is not ...").
  std::string string_of(const std::string& key) const;
  std::int64_t integer_of(const std::string& key) const;
  double number_of(const std::string& key) const;
  const Json& array_of(const std::string& key) const;

  const std::map<std::string, GgufTensor>& tensors() const { return tensors_; }
  const GgufTensor& tensor(const std::string& name) const;  // error naming the tensor if absent
  bool has(const std::string& name) const { return tensors_.count(name) > 0; }
  // The tensor's elements as fp32, in ggml order (row-major with rows of dims[0] elements).
  std::vector<float> dequantize(const std::string& name) const;
  const std::string& name() const { return name_; }

 private:
  void parse();
  std::string name_;
  std::vector<std::uint8_t> bytes_;
  std::uint32_t version_ = 0;
  std::uint64_t data_begin_ = 0;
  Json metadata_ = Json::object();
  std::map<std::string, GgufTensor> tensors_;
};

// Block sizes and bytes per block of each type (1 and the element size for the unquantized ones).
std::uint64_t ggml_block_elements(GgmlType t);
std::uint64_t ggml_block_bytes(GgmlType t);
// Dequantizes `count` elements (a multiple of the block size) of type `t` from `src` into `dst`.
void dequantize_row(GgmlType t, const std::uint8_t* src, std::uint64_t count, float* dst);

}  // namespace lrb::model
