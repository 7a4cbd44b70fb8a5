#include "methods/kvtc/kvtc_codec.hpp"

#include <algorithm>
#include <cstring>
#include <stdexcept>

#include <fmt/format.h>

#include "workloads/common/parallel.hpp"
#include "workloads/kv_compression/blob.hpp"

namespace lrb::kvtc {
namespace {

constexpr std::uint32_t kMagic = 0x4354564B;  // "KVTC"

// Rows of a stream on the machine's cores where the work pays for starting threads; small caches serially
// (a fuzz target decodes thousands of tiny blobs a second).
template <class F>
void for_rows(int rows, int width, F&& f) {
  if (static_cast<long long>(rows) * width < (1 << 16)) {
    for (int i = 0; i < rows; ++i) f(static_cast<std::size_t>(i));
    return;
  }
  parallel_for(static_cast<std::size_t>(rows), f);
}
constexpr std::uint16_t kVersion = 1;

struct Header {
  std::uint32_t magic = kMagic;
  std::uint16_t version = kVersion;
  std::uint8_t mode = 0, entropy = 0;
  std::uint32_t layers = 0, tokens = 0, heads = 0, head_dim = 0, sinks = 0, window = 0;
  std::uint64_t hash = 0, payload_bytes = 0, stored_bytes = 0;
};
constexpr std::size_t kHeaderBytes = kBlobHeaderBytes;

void write_header(BlobWriter& w, const Header& h) {
  w.put(h.magic), w.put(h.version), w.put(h.mode), w.put(h.entropy);
  for (std::uint32_t v : {h.layers, h.tokens, h.heads, h.head_dim, h.sinks, h.window}) w.put(v);
  w.put(h.hash), w.put(h.payload_bytes), w.put(h.stored_bytes);
}

Header read_header(BlobReader& r) {
  Header h;
  h.magic = r.get<std::uint32_t>();
  if (h.magic != kMagic) throw std::runtime_error("kvtc blob: not a kvtc blob (format tag)");
  h.version = r.get<std::uint16_t>();
  if (h.version != kVersion) throw std::runtime_error(fmt::format("kvtc blob: version {} (this build reads {})", h.version, kVersion));
  h.mode = r.get<std::uint8_t>(), h.entropy = r.get<std::uint8_t>();
  for (std::uint32_t* v : {&h.layers, &h.tokens, &h.heads, &h.head_dim, &h.sinks, &h.window}) *v = r.get<std::uint32_t>();
  h.hash = r.get<std::uint64_t>(), h.payload_bytes = r.get<std::uint64_t>(), h.stored_bytes = r.get<std::uint64_t>();
  return h;
}

// One stream's row: 4 bytes per kept group, then the kept groups' codes packed, padded to a byte.
struct RowLayout {
  std::size_t kept = 0, code_bits = 0;
  std::size_t bytes() const { return 4 * kept + (code_bits + 7) / 8; }
};
RowLayout row_layout(const Stream& s) {
  RowLayout r;
  for (const auto& g : s.plan.groups)
    if (g.type != CodeType::dropped) ++r.kept, r.code_bits += static_cast<std::size_t>(g.size) * bits_of(g.type);
  return r;
}

std::size_t payload_bytes(const std::vector<Stream>& streams, int coded) {
  std::size_t b = 0;
  for (const auto& s : streams) b += row_layout(s).bytes() * static_cast<std::size_t>(coded);
  return b;
}

void encode_stream(const KvTensor& t, bool keys, const RopeSpec& rope, const Stream& s, int first, int coded,
                   std::uint8_t* out) {
  if (coded == 0) return;
  const RowLayout layout = row_layout(s);
  Eigen::MatrixXf X(coded, s.p());
  for_rows(coded, s.p(), [&](std::size_t i) {
    Eigen::VectorXf v(s.p());
    gather(t, first + static_cast<int>(i), s, keys, rope, v.data());
    X.row(static_cast<Eigen::Index>(i)) = v.transpose() - s.mean.transpose();
  });
  const Eigen::MatrixXf C = X * s.basis;  // [coded x r]
  for_rows(coded, s.p(), [&](std::size_t i) {
    std::uint8_t* row = out + i * layout.bytes();
    std::vector<std::uint8_t> codes;
    codes.reserve((layout.code_bits + 7) / 8);
    BitWriter bits(codes);
    std::size_t k = 0;
    std::vector<float> x;
    for (const auto& g : s.plan.groups) {
      if (g.type == CodeType::dropped) continue;
      x.resize(g.size);
      for (int j = 0; j < g.size; ++j) x[j] = C(static_cast<Eigen::Index>(i), g.begin + j);
      const GroupCodes q = quantize_group(x, g.type);
      std::memcpy(row + 4 * k, &q.shift, 2);
      std::memcpy(row + 4 * k + 2, &q.scale, 2);
      for (std::uint8_t c : q.codes) bits.put(c, bits_of(g.type));
      ++k;
    }
    bits.finish();
    if (!codes.empty()) std::memcpy(row + 4 * layout.kept, codes.data(), codes.size());  // (no rows of 0 bytes)
  });
}

void decode_stream(const std::uint8_t* in, const RopeSpec& rope, const Stream& s, bool keys, int first, int coded,
                   KvTensor& t) {
  if (coded == 0) return;
  const RowLayout layout = row_layout(s);
  Eigen::MatrixXf C = Eigen::MatrixXf::Zero(coded, s.r());
  for_rows(coded, s.p(), [&](std::size_t i) {
    const std::uint8_t* row = in + i * layout.bytes();
    BitReader bits(std::span<const std::uint8_t>(row + 4 * layout.kept, (layout.code_bits + 7) / 8));
    std::size_t k = 0;
    std::vector<std::uint8_t> codes;
    std::vector<float> y;
    for (const auto& g : s.plan.groups) {
      if (g.type == CodeType::dropped) continue;
      std::uint16_t shift, scale;
      std::memcpy(&shift, row + 4 * k, 2);
      std::memcpy(&scale, row + 4 * k + 2, 2);
      codes.resize(g.size);
      for (auto& c : codes) c = static_cast<std::uint8_t>(bits.get(bits_of(g.type)));
      y.resize(g.size);
      dequantize_group(shift, scale, codes, g.type, y);
      for (int j = 0; j < g.size; ++j) C(static_cast<Eigen::Index>(i), g.begin + j) = y[j];
      ++k;
    }
  });
  const Eigen::MatrixXf X = (C * s.basis.transpose()).rowwise() + s.mean.transpose();
  for_rows(coded, s.p(), [&](std::size_t i) {
    const Eigen::VectorXf v = X.row(static_cast<Eigen::Index>(i)).transpose();
    scatter(v.data(), first + static_cast<int>(i), s, keys, rope, t);
  });
}

}  // namespace

std::pair<int, int> coded_range(int tokens, const CodecSettings& s) {
  if (tokens <= s.sinks + s.window) return {tokens, tokens};
  return {s.sinks, tokens - s.window};
}

std::vector<int> raw_token_list(int tokens, const CodecSettings& s) {
  const auto [b, e] = coded_range(tokens, s);
  std::vector<int> raw;
  for (int t = 0; t < tokens; ++t)
    if (t < b || t >= e) raw.push_back(t);
  return raw;
}

std::size_t row_bytes(const Stream& s) { return row_layout(s).bytes(); }

namespace {
Header header_of(const KvTensor& keys, const Artifact& a, const CodecSettings& s, std::uint64_t payload,
                 std::uint64_t stored) {
  Header h;
  h.mode = static_cast<std::uint8_t>(a.mode), h.entropy = static_cast<std::uint8_t>(s.entropy);
  h.layers = keys.layers, h.tokens = keys.tokens, h.heads = keys.heads, h.head_dim = keys.head_dim;
  h.sinks = s.sinks, h.window = s.window, h.hash = a.hash;
  h.payload_bytes = payload, h.stored_bytes = stored;
  return h;
}
}  // namespace

std::vector<std::uint8_t> blob_header(const KvTensor& shape, const Artifact& a, const CodecSettings& s,
                                      std::uint64_t payload_bytes, std::uint64_t stored_bytes) {
  std::vector<std::uint8_t> out;
  BlobWriter w(out);
  write_header(w, header_of(shape, a, s, payload_bytes, stored_bytes));
  return out;
}

EncodeStats encode_blob(const KvTensor& keys, const KvTensor& values, const RopeSpec& rope, const Artifact& a,
                        const CodecSettings& s, std::vector<std::uint8_t>& blob) {
  const auto [first, end] = coded_range(keys.tokens, s);
  const int coded = end - first;
  const std::vector<int> raw = raw_token_list(keys.tokens, s);
  std::vector<std::uint8_t> payload(payload_bytes(a.keys, coded) + payload_bytes(a.values, coded));
  std::size_t at = 0;
  for (int which = 0; which < 2; ++which) {
    const KvTensor& t = which == 0 ? keys : values;
    for (const auto& st : which == 0 ? a.keys : a.values) {
      encode_stream(t, which == 0, rope, st, first, coded, payload.data() + at);
      at += row_layout(st).bytes() * static_cast<std::size_t>(coded);
    }
  }
  std::vector<std::uint8_t> stored;
  entropy_encode(s.entropy, payload, stored);

  BlobWriter w(blob);
  write_header(w, header_of(keys, a, s, payload.size(), stored.size()));
  for (const KvTensor* t : {&keys, &values})
    for (int l = 0; l < t->layers; ++l)
      for (int tok : raw) w.put_bytes(&t->data[t->index(l, tok, 0, 0)], t->token_width() * sizeof(Half));
  w.put_bytes(stored.data(), stored.size());
  EncodeStats e;
  e.header_bytes = kHeaderBytes;
  e.raw_bytes = 2ull * keys.layers * raw.size() * keys.token_width() * sizeof(Half);
  e.payload_bytes = payload.size();
  e.stored_payload_bytes = stored.size();
  return e;
}

void decode_blob(std::span<const std::uint8_t> blob, const RopeSpec& rope, const Artifact& a, KvTensor& keys,
                 KvTensor& values) {
  BlobReader r(blob);  // reads in place: no copy of the blob in the timed decompress
  const Header h = read_header(r);
  if (h.layers != static_cast<std::uint32_t>(keys.layers) || h.tokens != static_cast<std::uint32_t>(keys.tokens) ||
      h.heads != static_cast<std::uint32_t>(keys.heads) || h.head_dim != static_cast<std::uint32_t>(keys.head_dim))
    throw std::runtime_error(fmt::format("kvtc blob: a cache of {} x {} x {} x {}, not this one's {} x {} x {} x {}",
                                         h.layers, h.tokens, h.heads, h.head_dim, keys.layers, keys.tokens, keys.heads,
                                         keys.head_dim));
  if (h.hash != a.hash || h.mode != static_cast<std::uint8_t>(a.mode))
    throw std::runtime_error("kvtc blob: made with another calibration artifact (hash or mode differs)");
  if ((h.entropy & kNvcompFramed) && (h.entropy & 0x7F) <= static_cast<std::uint8_t>(Entropy::ans))
    throw std::runtime_error(fmt::format("kvtc blob: payload coded by nvCOMP's {} in chunks (the CUDA path); this "
                                         "CPU decoder reads none, deflate and zstd",
                                         name_of(static_cast<Entropy>(h.entropy & 0x7F))));
  if (h.entropy > static_cast<std::uint8_t>(Entropy::zstd))
    throw std::runtime_error(fmt::format("kvtc blob: unknown entropy stage {}", h.entropy));
  if (h.sinks > (1u << 30) || h.window > (1u << 30))  // more than any cache: raw everywhere, but no int overflow
    throw std::runtime_error(fmt::format("kvtc blob: sinks {} / window {} out of range", h.sinks, h.window));
  const CodecSettings s{static_cast<int>(h.sinks), static_cast<int>(h.window), static_cast<Entropy>(h.entropy)};
  const auto [first, end] = coded_range(keys.tokens, s);
  const int coded = end - first;
  const std::size_t expected = payload_bytes(a.keys, coded) + payload_bytes(a.values, coded);
  if (h.payload_bytes != expected)
    throw std::runtime_error(fmt::format("kvtc blob: payload of {} bytes, the artifact makes {}", h.payload_bytes, expected));
  const std::vector<int> raw = raw_token_list(keys.tokens, s);
  for (KvTensor* t : {&keys, &values})
    for (int l = 0; l < t->layers; ++l)
      for (int tok : raw) {
        const std::size_t n = t->token_width() * sizeof(Half);
        std::memcpy(&t->data[t->index(l, tok, 0, 0)], r.take(n), n);
      }
  if (h.stored_bytes > blob.size()) throw std::runtime_error("kvtc blob: truncated payload");
  const std::uint8_t* stored = r.take(static_cast<std::size_t>(h.stored_bytes));
  std::vector<std::uint8_t> payload;
  entropy_decode(s.entropy, std::span<const std::uint8_t>(stored, h.stored_bytes), expected, payload);
  std::size_t at = 0;
  for (int which = 0; which < 2; ++which) {
    KvTensor& t = which == 0 ? keys : values;
    for (const auto& st : which == 0 ? a.keys : a.values) {
      decode_stream(payload.data() + at, rope, st, which == 0, first, coded, t);
      at += row_layout(st).bytes() * static_cast<std::size_t>(coded);
    }
  }
}

}  // namespace lrb::kvtc
