#include "workloads/model/gguf.hpp"

#include <algorithm>
#include <cstring>
#include <fstream>
#include <set>
#include <stdexcept>

#include <fmt/format.h>

#include "harness/tensor.hpp"

namespace lrb::model {
namespace {

constexpr std::uint32_t kMagic = 0x46554747;  // "GGUF" little-endian
constexpr std::uint64_t kMaxItems = 1u << 24;  // keys, tensors, array elements: far above any real model
constexpr std::uint64_t kMaxElements = 1ull << 40;
constexpr int kMaxDepth = 4;  // arrays of arrays: GGUF allows nesting; real files use one level

float half_to_float(std::uint16_t h) { return static_cast<float>(Eigen::numext::bit_cast<Half>(h)); }

// A cursor over the header bytes: every read is checked against what is left, so a length read from the
// file can never make the reader allocate or read beyond the file.
class Reader {
 public:
  Reader(const std::string& file, const std::vector<std::uint8_t>& b) : file_(file), b_(b) {}
  [[noreturn]] void fail(const std::string& what) const {
    throw std::runtime_error(fmt::format("'{}': {} (at byte {})", file_, what, pos_));
  }
  std::uint64_t left() const { return b_.size() - pos_; }
  std::uint64_t pos() const { return pos_; }
  template <class T>
  T get(const char* what) {
    if (left() < sizeof(T)) fail(fmt::format("the file ends inside {}", what));
    T v;
    std::memcpy(&v, b_.data() + pos_, sizeof(T));
    pos_ += sizeof(T);
    return v;
  }
  std::string string(const char* what) {
    const auto n = get<std::uint64_t>(what);
    if (n > left()) fail(fmt::format("{} claims {} bytes, {} are left", what, n, left()));
    std::string s(reinterpret_cast<const char*>(b_.data() + pos_), n);
    pos_ += n;
    return s;
  }

 private:
  const std::string& file_;
  const std::vector<std::uint8_t>& b_;
  std::uint64_t pos_ = 0;
};

enum ValueType : std::uint32_t {
  u8 = 0, i8, u16, i16, u32, i32, f32, boolean, string, array, u64, i64, f64,
};
std::uint64_t min_bytes(std::uint32_t t) {  // the fewest bytes one value of the type takes
  switch (t) {
    case u8: case i8: case boolean: return 1;
    case u16: case i16: return 2;
    case u32: case i32: case f32: return 4;
    case u64: case i64: case f64: case string: return 8;
    case array: return 12;
    default: return 0;
  }
}

Json read_value(Reader& r, std::uint32_t type, const std::string& key, int depth) {
  switch (type) {
    case u8: return r.get<std::uint8_t>("a value");
    case i8: return r.get<std::int8_t>("a value");
    case u16: return r.get<std::uint16_t>("a value");
    case i16: return r.get<std::int16_t>("a value");
    case u32: return r.get<std::uint32_t>("a value");
    case i32: return r.get<std::int32_t>("a value");
    case u64: return r.get<std::uint64_t>("a value");
    case i64: return r.get<std::int64_t>("a value");
    case f32: return static_cast<double>(r.get<float>("a value"));
    case f64: return r.get<double>("a value");
    case boolean: {
      const auto v = r.get<std::uint8_t>("a value");
      if (v > 1) r.fail(fmt::format("key '{}': a bool of value {}", key, v));
      return v == 1;
    }
    case string: return r.string("a string value");
    case array: {
      if (depth >= kMaxDepth) r.fail(fmt::format("key '{}': arrays nested deeper than {}", key, kMaxDepth));
      const auto elem = r.get<std::uint32_t>("an array's type");
      const auto n = r.get<std::uint64_t>("an array's length");
      if (min_bytes(elem) == 0) r.fail(fmt::format("key '{}': unknown array element type {}", key, elem));
      if (n > kMaxItems || n * min_bytes(elem) > r.left())
        r.fail(fmt::format("key '{}': an array of {} elements cannot fit in the {} bytes left", key, n, r.left()));
      Json a = Json::array();
      for (std::uint64_t i = 0; i < n; ++i) a.push_back(read_value(r, elem, key, depth + 1));
      return a;
    }
    default: r.fail(fmt::format("key '{}': unknown value type {}", key, type));
  }
}

}  // namespace

const char* ggml_type_name(GgmlType t) {
  switch (t) {
    case GgmlType::f32: return "F32";
    case GgmlType::f16: return "F16";
    case GgmlType::bf16: return "BF16";
    case GgmlType::q4_0: return "Q4_0";
    case GgmlType::q4_1: return "Q4_1";
    case GgmlType::q8_0: return "Q8_0";
  }
  return "?";
}

std::uint64_t ggml_block_elements(GgmlType t) {
  return t == GgmlType::q4_0 || t == GgmlType::q4_1 || t == GgmlType::q8_0 ? 32 : 1;
}

std::uint64_t ggml_block_bytes(GgmlType t) {
  switch (t) {
    case GgmlType::f32: return 4;
    case GgmlType::f16: case GgmlType::bf16: return 2;
    case GgmlType::q4_0: return 18;  // fp16 d, 16 bytes of 4-bit codes
    case GgmlType::q4_1: return 20;  // fp16 d, fp16 m, 16 bytes of 4-bit codes
    case GgmlType::q8_0: return 34;  // fp16 d, 32 int8 codes
  }
  return 0;
}

void dequantize_row(GgmlType t, const std::uint8_t* src, std::uint64_t count, float* dst) {
  auto u16 = [](const std::uint8_t* p) {
    std::uint16_t v;
    std::memcpy(&v, p, 2);
    return v;
  };
  switch (t) {
    case GgmlType::f32: std::memcpy(dst, src, count * 4); return;
    case GgmlType::f16:
      for (std::uint64_t i = 0; i < count; ++i) dst[i] = half_to_float(u16(src + 2 * i));
      return;
    case GgmlType::bf16:
      for (std::uint64_t i = 0; i < count; ++i) {
        const std::uint32_t bits = static_cast<std::uint32_t>(u16(src + 2 * i)) << 16;
        std::memcpy(dst + i, &bits, 4);
      }
      return;
    case GgmlType::q8_0:
      for (std::uint64_t b = 0; b < count / 32; ++b, src += 34, dst += 32) {
        const float d = half_to_float(u16(src));
        for (int j = 0; j < 32; ++j) dst[j] = d * static_cast<float>(static_cast<std::int8_t>(src[2 + j]));
      }
      return;
    case GgmlType::q4_0:  // x = d * (q - 8); low nibbles are elements 0..15, high nibbles 16..31
      for (std::uint64_t b = 0; b < count / 32; ++b, src += 18, dst += 32) {
        const float d = half_to_float(u16(src));
        for (int j = 0; j < 16; ++j) {
          dst[j] = d * static_cast<float>((src[2 + j] & 0x0F) - 8);
          dst[j + 16] = d * static_cast<float>((src[2 + j] >> 4) - 8);
        }
      }
      return;
    case GgmlType::q4_1:  // x = d * q + m
      for (std::uint64_t b = 0; b < count / 32; ++b, src += 20, dst += 32) {
        const float d = half_to_float(u16(src)), m = half_to_float(u16(src + 2));
        for (int j = 0; j < 16; ++j) {
          dst[j] = d * static_cast<float>(src[4 + j] & 0x0F) + m;
          dst[j + 16] = d * static_cast<float>(src[4 + j] >> 4) + m;
        }
      }
      return;
  }
}

GgufFile::GgufFile(const std::filesystem::path& file) : name_(file.string()) {
  std::ifstream in(file, std::ios::binary);
  if (!in) throw std::runtime_error(fmt::format("'{}': cannot open: {}", name_, std::strerror(errno)));
  bytes_.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  parse();
}

GgufFile::GgufFile(const std::string& name, std::vector<std::uint8_t> bytes) : name_(name), bytes_(std::move(bytes)) {
  parse();
}

void GgufFile::parse() {
  Reader r(name_, bytes_);
  if (r.get<std::uint32_t>("the magic number") != kMagic) r.fail("not a GGUF file (no 'GGUF' magic)");
  version_ = r.get<std::uint32_t>("the version");
  if (version_ != 2 && version_ != 3) r.fail(fmt::format("GGUF version {} (this reader knows 2 and 3)", version_));
  const auto n_tensors = r.get<std::uint64_t>("the tensor count");
  const auto n_kv = r.get<std::uint64_t>("the metadata count");
  // Each key-value takes at least 12 bytes and each tensor info at least 24: a count beyond what the file
  // can hold is refused before anything is reserved for it.
  if (n_kv > kMaxItems || n_kv * 12 > r.left()) r.fail(fmt::format("{} metadata keys cannot fit in the file", n_kv));
  if (n_tensors > kMaxItems || n_tensors * 24 > r.left())
    r.fail(fmt::format("{} tensor infos cannot fit in the file", n_tensors));
  for (std::uint64_t i = 0; i < n_kv; ++i) {
    const std::string key = r.string("a metadata key");
    if (metadata_.contains(key)) r.fail(fmt::format("duplicate metadata key '{}'", key));
    const auto type = r.get<std::uint32_t>("a value type");
    metadata_[key] = read_value(r, type, key, 0);
  }
  std::uint64_t alignment = 32;
  if (metadata_.contains("general.alignment")) {
    const Json& a = metadata_["general.alignment"];
    if (!a.is_number_unsigned() || a.get<std::uint64_t>() == 0 || a.get<std::uint64_t>() > (1u << 20) ||
        (a.get<std::uint64_t>() & (a.get<std::uint64_t>() - 1)) != 0)
      r.fail(fmt::format("general.alignment {} is not a power of two up to 2^20", a.dump()));
    alignment = a.get<std::uint64_t>();
  }
  std::vector<GgufTensor> infos;
  for (std::uint64_t i = 0; i < n_tensors; ++i) {
    GgufTensor t;
    t.name = r.string("a tensor name");
    const auto n_dims = r.get<std::uint32_t>("a tensor's dimension count");
    if (n_dims == 0 || n_dims > 4) r.fail(fmt::format("tensor '{}': {} dimensions (1 to 4 allowed)", t.name, n_dims));
    t.elements = 1;
    for (std::uint32_t d = 0; d < n_dims; ++d) {
      const auto n = r.get<std::uint64_t>("a tensor's dimension");
      if (n == 0 || n > kMaxElements || t.elements > kMaxElements / n)
        r.fail(fmt::format("tensor '{}': dimension {} of {} (zero, or more than 2^40 elements in all)", t.name, d, n));
      t.dims.push_back(n);
      t.elements *= n;
    }
    const auto type = r.get<std::uint32_t>("a tensor's type");
    t.type = static_cast<GgmlType>(type);
    if (ggml_block_bytes(t.type) == 0)
      r.fail(fmt::format("tensor '{}': ggml type {} is not one this reader dequantizes (F32, F16, BF16, Q4_0, Q4_1, "
                         "Q8_0)",
                         t.name, type));
    if (t.dims[0] % ggml_block_elements(t.type) != 0)
      r.fail(fmt::format("tensor '{}': rows of {} elements are not whole {} blocks of {}", t.name, t.dims[0],
                         ggml_type_name(t.type), ggml_block_elements(t.type)));
    t.bytes = t.elements / ggml_block_elements(t.type) * ggml_block_bytes(t.type);
    t.offset = r.get<std::uint64_t>("a tensor's offset");
    if (t.offset % alignment != 0)
      r.fail(fmt::format("tensor '{}': offset {} is not a multiple of the alignment {}", t.name, t.offset, alignment));
    infos.push_back(std::move(t));
  }
  data_begin_ = (r.pos() + alignment - 1) / alignment * alignment;
  if (data_begin_ > bytes_.size()) r.fail("the file ends before its data section");
  const std::uint64_t data_bytes = bytes_.size() - data_begin_;
  std::vector<const GgufTensor*> by_offset;
  for (auto& t : infos) {
    if (t.offset > data_bytes || t.bytes > data_bytes - t.offset)
      r.fail(fmt::format("tensor '{}': bytes [{}, {}) lie beyond the data section's {} bytes", t.name, t.offset,
                         t.offset + t.bytes, data_bytes));
    const std::string name = t.name;
    if (!tensors_.emplace(name, std::move(t)).second) r.fail(fmt::format("tensor '{}' listed twice", name));
  }
  for (const auto& [name, t] : tensors_) by_offset.push_back(&t);
  std::sort(by_offset.begin(), by_offset.end(), [](auto* a, auto* b) { return a->offset < b->offset; });
  for (std::size_t i = 1; i < by_offset.size(); ++i)
    if (by_offset[i]->offset < by_offset[i - 1]->offset + by_offset[i - 1]->bytes)
      r.fail(fmt::format("tensors '{}' and '{}' overlap", by_offset[i - 1]->name, by_offset[i]->name));
}

namespace {
[[noreturn]] void bad_key(const std::string& file, const std::string& key, const char* want) {
  throw std::runtime_error(fmt::format("'{}': metadata key '{}' {}", file, key, want));
}
}  // namespace

std::string GgufFile::string_of(const std::string& key) const {
  if (!metadata_.contains(key)) bad_key(name_, key, "is missing");
  if (!metadata_[key].is_string()) bad_key(name_, key, "is not a string");
  return metadata_[key].get<std::string>();
}

std::int64_t GgufFile::integer_of(const std::string& key) const {
  if (!metadata_.contains(key)) bad_key(name_, key, "is missing");
  const Json& v = metadata_[key];
  if (!v.is_number_integer() || (v.is_number_unsigned() && v.get<std::uint64_t>() > (1ull << 53)))
    bad_key(name_, key, "is not an integer up to 2^53");
  return v.get<std::int64_t>();
}

double GgufFile::number_of(const std::string& key) const {
  if (!metadata_.contains(key)) bad_key(name_, key, "is missing");
  if (!metadata_[key].is_number()) bad_key(name_, key, "is not a number");
  return metadata_[key].get<double>();
}

const Json& GgufFile::array_of(const std::string& key) const {
  if (!metadata_.contains(key)) bad_key(name_, key, "is missing");
  if (!metadata_[key].is_array()) bad_key(name_, key, "is not an array");
  return metadata_[key];
}

const GgufTensor& GgufFile::tensor(const std::string& name) const {
  const auto it = tensors_.find(name);
  if (it == tensors_.end()) throw std::runtime_error(fmt::format("'{}': no tensor '{}'", name_, name));
  return it->second;
}

std::vector<float> GgufFile::dequantize(const std::string& name) const {
  const GgufTensor& t = tensor(name);
  std::vector<float> out(t.elements);
  dequantize_row(t.type, bytes_.data() + data_begin_ + t.offset, t.elements, out.data());
  return out;
}

}  // namespace lrb::model
