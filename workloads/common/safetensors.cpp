#include "workloads/common/safetensors.hpp"

#include <algorithm>
#include <cstring>
#include <fstream>
#include <stdexcept>

#include <fmt/format.h>

#include "harness/strict_json.hpp"

namespace lrb {
namespace {

std::size_t dtype_width(const std::string& dtype) {
  static const std::map<std::string, std::size_t> widths = {{"F64", 8}, {"F32", 4}, {"F16", 2}, {"BF16", 2},
                                                            {"I64", 8}, {"I32", 4}, {"I16", 2}, {"I8", 1},
                                                            {"U8", 1},  {"BOOL", 1}};
  auto it = widths.find(dtype);
  return it == widths.end() ? 0 : it->second;
}

// A JSON value that is a non-negative integer (not 3.0, not -1, not "3") no larger than `max`.
bool whole_number(const Json& v, std::uint64_t max, std::uint64_t* out) {
  if (!v.is_number_integer() || (v.is_number_integer() && !v.is_number_unsigned() && v.get<std::int64_t>() < 0))
    return false;
  const std::uint64_t u = v.get<std::uint64_t>();
  if (u > max) return false;
  *out = u;
  return true;
}

std::uint64_t read_u64_le(const std::uint8_t* p) {
  std::uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

}  // namespace

SafetensorsFile::SafetensorsFile(const std::filesystem::path& file) : path_(file) {
  std::error_code ec;
  const std::uint64_t size = std::filesystem::file_size(file, ec);
  if (ec) throw std::runtime_error(fmt::format("cannot read '{}': {}", file.string(), ec.message()));
  std::ifstream in(file, std::ios::binary);
  if (!in) throw std::runtime_error(fmt::format("cannot read '{}'", file.string()));
  auto fail = [&](const std::string& what) { return std::runtime_error(fmt::format("'{}': {}", file.string(), what)); };
  if (size < 8) throw fail("too short for a safetensors file (under 8 bytes)");
  std::uint8_t len_bytes[8];
  in.read(reinterpret_cast<char*>(len_bytes), 8);
  const std::uint64_t header_len = read_u64_le(len_bytes);
  if (header_len > size - 8 || header_len > kSafetensorsMaxHeader)
    throw fail(fmt::format("header length {} exceeds the file ({} bytes) or the format's 100 MiB", header_len, size));
  std::vector<std::uint8_t> header(header_len);
  in.read(reinterpret_cast<char*>(header.data()), static_cast<std::streamsize>(header_len));
  parse_header(header, size - 8 - header_len);  // validated before the data is allocated
  data_.resize(size - 8 - header_len);
  in.read(reinterpret_cast<char*>(data_.data()), static_cast<std::streamsize>(data_.size()));
  if (!in) throw fail("could not read its data section");
}

SafetensorsFile::SafetensorsFile(const std::string& name, std::vector<std::uint8_t> bytes) : path_(name) {
  if (bytes.size() < 8) throw std::runtime_error(fmt::format("'{}': too short for a safetensors file", name));
  const std::uint64_t header_len = read_u64_le(bytes.data());
  if (header_len > bytes.size() - 8 || header_len > kSafetensorsMaxHeader)
    throw std::runtime_error(fmt::format("'{}': header length {} exceeds the file ({} bytes)", name, header_len,
                                         bytes.size()));
  const std::vector<std::uint8_t> header(bytes.begin() + 8, bytes.begin() + 8 + static_cast<std::ptrdiff_t>(header_len));
  parse_header(header, bytes.size() - 8 - header_len);
  data_.assign(bytes.begin() + 8 + static_cast<std::ptrdiff_t>(header_len), bytes.end());
}

void SafetensorsFile::parse_header(const std::vector<std::uint8_t>& bytes, std::uint64_t data_bytes) {
  const std::string file = path_.string();
  auto fail = [&](const std::string& tensor, const std::string& what) {
    return std::runtime_error(tensor.empty() ? fmt::format("'{}': {}", file, what)
                                             : fmt::format("'{}': tensor '{}': {}", file, tensor, what));
  };
  Json header;
  try {
    // Strict: a tensor listed twice is a duplicate key, a NUL byte or a deep header an error.
    header = parse_json_strict(std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()));
  } catch (const JsonTextError& e) {
    throw fail("", std::string("header: ") + e.what());
  }
  if (!header.is_object()) throw fail("", "header must be a JSON object {tensor name: {dtype, shape, data_offsets}}");
  struct Range {
    std::uint64_t begin, end;
    std::string name;
  };
  std::vector<Range> ranges;
  for (auto it = header.begin(); it != header.end(); ++it) {
    const std::string& name = it.key();
    const Json& t = it.value();
    if (name == "__metadata__") {
      if (!t.is_object()) throw fail("", "__metadata__ must be an object of strings");
      for (const auto& v : t)
        if (!v.is_string()) throw fail("", "__metadata__ must be an object of strings");
      continue;
    }
    if (!t.is_object() || t.size() != 3 || !t.contains("dtype") || !t.contains("shape") || !t.contains("data_offsets"))
      throw fail(name, "must be an object of exactly dtype, shape and data_offsets");
    Tensor tensor;
    if (!t["dtype"].is_string() || dtype_width(t["dtype"].get<std::string>()) == 0)
      throw fail(name, fmt::format("unknown dtype {}", t["dtype"].dump()));
    tensor.dtype = t["dtype"].get<std::string>();
    if (!t["shape"].is_array() || t["shape"].size() > 8) throw fail(name, "shape must be an array of at most 8 sizes");
    std::uint64_t elements = 1;
    for (const auto& d : t["shape"]) {
      std::uint64_t n = 0;
      if (!whole_number(d, 1u << 31, &n)) throw fail(name, fmt::format("shape entry {} is not a size in [0, 2^31]", d.dump()));
      elements = n == 0 ? 0 : (elements > (1ull << 40) / n ? (1ull << 41) : elements * n);
      tensor.shape.push_back(static_cast<std::int64_t>(n));
    }
    if (elements > (1ull << 40)) throw fail(name, "has more than 2^40 elements");
    const Json& off = t["data_offsets"];
    std::uint64_t begin = 0, end = 0;
    if (!off.is_array() || off.size() != 2 || !whole_number(off[0], data_bytes, &begin) ||
        !whole_number(off[1], data_bytes, &end) || end < begin)
      throw fail(name, fmt::format("data_offsets {} must be two integers 0 <= begin <= end <= {} (the data section)",
                                   off.dump(), data_bytes));
    if (end - begin != elements * dtype_width(tensor.dtype))
      throw fail(name, fmt::format("{} bytes for {} elements of {}", end - begin, elements, tensor.dtype));
    tensor.begin = begin;
    tensor.end = end;
    ranges.push_back({begin, end, name});
    tensors_[name] = tensor;
  }
  // The tensors tile the data section: in order, no overlap (no tensor read from another's bytes), no hole.
  std::sort(ranges.begin(), ranges.end(), [](const Range& a, const Range& b) {
    return a.begin != b.begin ? a.begin < b.begin : a.end < b.end;
  });
  std::uint64_t at = 0;
  for (const auto& r : ranges) {
    if (r.begin < at) throw fail(r.name, fmt::format("its bytes [{}, {}) overlap another tensor's", r.begin, r.end));
    if (r.begin > at) throw fail(r.name, fmt::format("bytes [{}, {}) of the data belong to no tensor", at, r.begin));
    at = r.end;
  }
  if (at != data_bytes) throw fail("", fmt::format("bytes [{}, {}) of the data belong to no tensor", at, data_bytes));
}

MatrixF SafetensorsFile::matrix(const std::string& name) const {
  auto it = tensors_.find(name);
  if (it == tensors_.end()) throw std::runtime_error(fmt::format("'{}' has no tensor '{}'", path_.string(), name));
  const Tensor& t = it->second;
  if (t.shape.size() != 2) throw std::runtime_error(fmt::format("'{}': tensor '{}' is not 2-D", path_.string(), name));
  if (t.dtype != "F32" && t.dtype != "F16" && t.dtype != "BF16")
    throw std::runtime_error(fmt::format("'{}': tensor '{}' has dtype {}, not F32, F16 or BF16", path_.string(), name,
                                         t.dtype));
  const std::int64_t rows = t.shape[0], cols = t.shape[1];
  const std::size_t n = static_cast<std::size_t>(rows * cols);
  MatrixF m(rows, cols);
  const std::uint8_t* src = data_.data() + t.begin;
  for (std::size_t i = 0; i < n; ++i) {  // safetensors is little-endian, as this machine
    if (t.dtype == "F32") {
      std::memcpy(m.data() + i, src + 4 * i, 4);
    } else if (t.dtype == "F16") {
      std::uint16_t h;
      std::memcpy(&h, src + 2 * i, 2);
      m.data()[i] = static_cast<float>(Eigen::numext::bit_cast<Half>(h));
    } else {
      std::uint16_t h;
      std::memcpy(&h, src + 2 * i, 2);
      const std::uint32_t bits = static_cast<std::uint32_t>(h) << 16;
      std::memcpy(m.data() + i, &bits, 4);
    }
  }
  return m;
}

}  // namespace lrb
