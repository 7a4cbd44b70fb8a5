#pragma once
// safetensors files (8-byte little-endian header length, a JSON header {name: {dtype, shape,
// data_offsets}}, then the raw tensors), read strictly: the whole header is validated before anything is
// allocated for the data (dtypes, shapes, integral in-order offsets that cover the data exactly, each
// tensor's bytes equal to its shape), and every error names the file and the tensor.
#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "harness/tensor.hpp"

namespace lrb {

class SafetensorsFile {
 public:
  struct Tensor {
    std::string dtype;  // F64, F32, F16, BF16, I64, I32, I16, I8, U8, BOOL
    std::vector<std::int64_t> shape;
    std::size_t begin = 0, end = 0;  // byte range inside the data section
  };
  // Throws std::runtime_error "'<file>': <what>" (naming the tensor where one is at fault).
  explicit SafetensorsFile(const std::filesystem::path& file);
  // The same from bytes in memory (the fuzz target); `name` stands for the file in messages.
  SafetensorsFile(const std::string& name, std::vector<std::uint8_t> bytes);

  const std::map<std::string, Tensor>& tensors() const { return tensors_; }
  bool has(const std::string& name) const { return tensors_.count(name) > 0; }
  // A 2-D floating tensor as a row-major fp32 matrix (F32, F16 or BF16 on disk).
  MatrixF matrix(const std::string& name) const;
  const std::filesystem::path& path() const { return path_; }

 private:
  void parse_header(const std::vector<std::uint8_t>& header, std::uint64_t data_bytes);
  std::filesystem::path path_;
  std::map<std::string, Tensor> tensors_;
  std::vector<std::uint8_t> data_;
};

// Largest header the format allows (the reference implementation's limit).
inline constexpr std::uint64_t kSafetensorsMaxHeader = 100u << 20;

}  // namespace lrb
