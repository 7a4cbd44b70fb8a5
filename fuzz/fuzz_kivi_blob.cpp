// libFuzzer target: the kivi / int4_per_token blob decoder (methods/kivi/kivi.cpp) on a fixed cache shape.
// Byte 0 chooses the scheme (kivi 2-bit, kivi 4-bit with a group that ends mid-byte, int4 per token) and, by
// its high bit, what the rest is: the blob itself, or edits to a valid blob of that scheme (a truncation
// length in bytes 1-2, then (position, xor) byte pairs) that reach the decoder past its header checks.
#include <cstddef>
#include <cstdint>
#include <random>
#include <stdexcept>
#include <vector>

#include "methods/kivi/kivi_scheme.hpp"

namespace {

using namespace lrb;

struct Fixture {
  kivi::Scheme schemes[3];
  std::vector<std::uint8_t> blobs[3];
  Fixture() {
    schemes[0].bits = 2, schemes[0].group = 8, schemes[0].residual = 6;
    schemes[1].bits = 4, schemes[1].group = 5, schemes[1].residual = 3;
    schemes[2].keys_per_channel = false, schemes[2].bits = 4, schemes[2].group = 7, schemes[2].residual = 0;
    std::mt19937 rng(1);
    std::normal_distribution<float> z(0, 1);
    KvTensor cache(2, 40, 2, 6);
    for (auto& x : cache.data) x = Half(z(rng));
    for (int i = 0; i < 3; ++i) kivi::encode_blob(cache, cache, schemes[i], blobs[i]);
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const Fixture f;
  if (size == 0) return 0;
  const int which = (data[0] & 0x7F) % 3;
  std::vector<std::uint8_t> blob;
  if (data[0] & 0x80) {
    blob.assign(data + 1, data + size);
  } else {
    blob = f.blobs[which];
    if (size > 2) blob.resize(std::min<std::size_t>(blob.size(), static_cast<std::size_t>(data[1]) | data[2] << 8));
    for (std::size_t i = 3; i + 1 < size && !blob.empty(); i += 2) blob[data[i] * 13u % blob.size()] ^= data[i + 1];
  }
  KvTensor keys(2, 40, 2, 6), values(2, 40, 2, 6);
  try {
    kivi::decode_blob(blob, f.schemes[which], keys, values);
  } catch (const std::runtime_error&) {
  }
  return 0;
}
