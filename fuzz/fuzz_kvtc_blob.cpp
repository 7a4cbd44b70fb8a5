// libFuzzer target: the kvtc blob decoder (methods/kvtc/kvtc_codec.cpp) against one fixed calibration
// artifact. Byte 0's low bit chooses what the rest is: the blob itself (odd), or edits to a valid blob of
// the entropy stage byte 1 names (even): a truncation length (bytes 2-3), then (position, xor) byte pairs,
// which reach the decoder's inner checks that random bytes rarely pass.
#include <cstddef>
#include <cstdint>
#include <random>
#include <stdexcept>
#include <vector>

#include "methods/kvtc/kvtc_codec.hpp"

namespace {

using namespace lrb;
using namespace lrb::kvtc;

struct Fixture {
  RopeSpec rope{10000.0, 8, "interleaved"};
  Artifact artifact;
  KvTensor cache{2, 40, 2, 8};
  std::vector<std::uint8_t> blobs[3];
  Fixture() {
    std::mt19937 rng(1);
    std::normal_distribution<float> z(0, 1);
    KvTensor calib(2, 48, 2, 8);
    for (auto& x : calib.data) x = Half(z(rng));
    for (auto& x : cache.data) x = Half(z(rng));
    CalibrationSettings cs;
    cs.ratio = 4;
    artifact.keys = calibrate(calib, true, rope, cs);
    artifact.values = calibrate(calib, false, rope, cs);
    std::vector<Stream> all = artifact.keys;
    all.insert(all.end(), artifact.values.begin(), artifact.values.end());
    artifact.hash = artifact_hash(all);
    for (int e = 0; e < 3; ++e) encode_blob(cache, cache, rope, artifact, CodecSettings{2, 8, static_cast<Entropy>(e)}, blobs[e]);
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const Fixture f;
  if (size == 0) return 0;
  std::vector<std::uint8_t> blob;
  if (data[0] & 1) {
    blob.assign(data + 1, data + size);
  } else {
    blob = f.blobs[size > 1 ? data[1] % 3 : 0];
    if (size > 3) blob.resize(std::min<std::size_t>(blob.size(), static_cast<std::size_t>(data[2]) | data[3] << 8));
    for (std::size_t i = 4; i + 1 < size && !blob.empty(); i += 2) blob[data[i] * 7u % blob.size()] ^= data[i + 1];
  }
  KvTensor keys(2, 40, 2, 8), values(2, 40, 2, 8);
  try {
    decode_blob(blob, f.rope, f.artifact, keys, values);
  } catch (const std::runtime_error&) {
  }
  return 0;
}
