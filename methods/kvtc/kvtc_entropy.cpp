#include "methods/kvtc/kvtc_entropy.hpp"

#include <memory>
#include <stdexcept>

#include <fmt/format.h>
#include <libdeflate.h>
#include <zstd.h>

namespace lrb::kvtc {

Entropy parse_entropy(const std::string& name) {
  if (name == "none") return Entropy::none;
  if (name == "deflate") return Entropy::deflate;
  if (name == "zstd") return Entropy::zstd;
  if (name == "gdeflate") return Entropy::gdeflate;
  if (name == "ans") return Entropy::ans;
  throw std::invalid_argument(
      fmt::format("kvtc entropy '{}': none, deflate or zstd (CPU and GPU), gdeflate or ans (GPU, nvCOMP)", name));
}

const char* name_of(Entropy e) {
  switch (e) {
    case Entropy::none: return "none";
    case Entropy::deflate: return "deflate";
    case Entropy::zstd: return "zstd";
    case Entropy::gdeflate: return "gdeflate";
    case Entropy::ans: return "ans";
  }
  return "?";
}

namespace {
// Levels: the libraries' defaults for a throughput-minded stage (libdeflate 6, zstd 3).
constexpr int kDeflateLevel = 6, kZstdLevel = 3;
}  // namespace

void entropy_encode(Entropy e, std::span<const std::uint8_t> payload, std::vector<std::uint8_t>& out) {
  const std::size_t at = out.size();
  switch (e) {
    case Entropy::none:
      out.insert(out.end(), payload.begin(), payload.end());
      return;
    case Entropy::deflate: {
      std::unique_ptr<libdeflate_compressor, decltype(&libdeflate_free_compressor)> c(
          libdeflate_alloc_compressor(kDeflateLevel), libdeflate_free_compressor);
      if (!c) throw std::bad_alloc();
      out.resize(at + libdeflate_deflate_compress_bound(c.get(), payload.size()));
      const std::size_t n =
          libdeflate_deflate_compress(c.get(), payload.data(), payload.size(), out.data() + at, out.size() - at);
      if (n == 0) throw std::runtime_error("kvtc: DEFLATE output exceeded its bound");
      out.resize(at + n);
      return;
    }
    case Entropy::zstd: {
      out.resize(at + ZSTD_compressBound(payload.size()));
      const std::size_t n = ZSTD_compress(out.data() + at, out.size() - at, payload.data(), payload.size(), kZstdLevel);
      if (ZSTD_isError(n)) throw std::runtime_error(fmt::format("kvtc: zstd: {}", ZSTD_getErrorName(n)));
      out.resize(at + n);
      return;
    }
    case Entropy::gdeflate:
    case Entropy::ans: break;
  }
  throw std::invalid_argument(fmt::format("kvtc: entropy stage '{}' has no CPU coder (nvCOMP, GPU only)", name_of(e)));
}

void entropy_decode(Entropy e, std::span<const std::uint8_t> coded, std::size_t expected,
                    std::vector<std::uint8_t>& out) {
  out.resize(expected);
  switch (e) {
    case Entropy::none:
      if (coded.size() != expected)
        throw std::runtime_error(fmt::format("kvtc blob: payload of {} bytes, {} expected", coded.size(), expected));
      std::copy(coded.begin(), coded.end(), out.begin());
      return;
    case Entropy::deflate: {
      std::unique_ptr<libdeflate_decompressor, decltype(&libdeflate_free_decompressor)> d(
          libdeflate_alloc_decompressor(), libdeflate_free_decompressor);
      if (!d) throw std::bad_alloc();
      std::size_t got = 0;
      const auto r = libdeflate_deflate_decompress(d.get(), coded.data(), coded.size(), out.data(), expected, &got);
      if (r != LIBDEFLATE_SUCCESS || got != expected)
        throw std::runtime_error(fmt::format("kvtc blob: corrupt DEFLATE payload (libdeflate result {}, {} of {} bytes)",
                                             static_cast<int>(r), got, expected));
      return;
    }
    case Entropy::zstd: {
      const std::size_t n = ZSTD_decompress(out.data(), expected, coded.data(), coded.size());
      if (ZSTD_isError(n) || n != expected)
        throw std::runtime_error(fmt::format("kvtc blob: corrupt zstd payload ({})",
                                             ZSTD_isError(n) ? ZSTD_getErrorName(n) : fmt::format("{} of {} bytes", n, expected)));
      return;
    }
    case Entropy::gdeflate:
    case Entropy::ans: break;
  }
  throw std::runtime_error(fmt::format("kvtc blob: entropy stage '{}' has no CPU decoder", name_of(e)));
}

}  // namespace lrb::kvtc
