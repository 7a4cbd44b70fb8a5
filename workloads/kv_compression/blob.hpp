#pragma once
// Little-endian byte writer/reader for compressed blobs: every method's blob starts with a header that
// names its format, so a blob can be decoded without the problem that produced it.
#include <cstdint>
#include <cstring>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

namespace lrb {

class BlobWriter {
 public:
  explicit BlobWriter(std::vector<std::uint8_t>& out) : out_(out) { out_.clear(); }
  template <class T>
  void put(const T& v) {
    const auto* b = reinterpret_cast<const std::uint8_t*>(&v);
    out_.insert(out_.end(), b, b + sizeof(T));
  }
  void put_bytes(const void* data, std::size_t n) {
    const auto* b = static_cast<const std::uint8_t*>(data);
    out_.insert(out_.end(), b, b + n);
  }
  std::size_t size() const { return out_.size(); }

 private:
  std::vector<std::uint8_t>& out_;
};

class BlobReader {
 public:
  BlobReader(std::span<const std::uint8_t> in) : in_(in) {}
  template <class T>
  T get() {
    T v;
    need(sizeof(T));
    std::memcpy(&v, in_.data() + pos_, sizeof(T));
    pos_ += sizeof(T);
    return v;
  }
  const std::uint8_t* take(std::size_t n) {
    need(n);
    const std::uint8_t* p = in_.data() + pos_;
    pos_ += n;
    return p;
  }
  void expect_magic(std::uint32_t magic) {
    if (get<std::uint32_t>() != magic) throw std::runtime_error("blob: wrong format tag");
  }

 private:
  void need(std::size_t n) const {
    if (n > in_.size() - pos_) throw std::runtime_error("blob: truncated");  // no overflow for a huge n
  }
  std::span<const std::uint8_t> in_;
  std::size_t pos_ = 0;
};

// Header common to the KV blobs: format tag and the cache shape.
struct KvBlobHeader {
  std::uint32_t magic = 0;
  std::uint32_t layers = 0, tokens = 0, heads = 0, head_dim = 0;
  // Refuses a blob made from a cache of another shape than the one it is decoded into.
  template <class Tensor>
  void expect_shape_of(const Tensor& t, const char* method) const {
    if (layers != static_cast<std::uint32_t>(t.layers) || tokens != static_cast<std::uint32_t>(t.tokens) ||
        heads != static_cast<std::uint32_t>(t.heads) || head_dim != static_cast<std::uint32_t>(t.head_dim))
      throw std::runtime_error(std::string(method) + " blob: made from a cache of another shape");
  }
};

}  // namespace lrb
