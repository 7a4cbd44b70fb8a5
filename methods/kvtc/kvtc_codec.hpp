#pragma once
// The kvtc blob, CPU reference. Layout (little-endian):
//   header: magic "KVTC", version, mode, entropy, layers, tokens, heads, head_dim, sinks, window, the
//           artifact's hash, payload bytes before and after the entropy stage;
//   raw:    keys then values, the first `sinks` and last `window` tokens of every layer in fp16, bit-exact;
//   payload (entropy coded as a whole): keys then values; per stream, per coded token, one row: the kept
//           groups' fp16 shift and scale, then all their codes packed LSB-first, padded to a byte.
// A row's size is fixed by the plan, so every size is known from the header and the artifact, and decode
// checks each one before it reads: a truncated or corrupted blob is an error, never an out-of-bounds read.
#include <cstdint>
#include <span>
#include <vector>

#include "methods/kvtc/kvtc_calibration.hpp"
#include "methods/kvtc/kvtc_entropy.hpp"

namespace lrb::kvtc {

struct Artifact {
  Mode mode = Mode::paper;
  std::vector<Stream> keys, values;
  std::uint64_t hash = 0;  // artifact_hash of keys then values
};

struct CodecSettings {
  int sinks = 4, window = 128;
  Entropy entropy = Entropy::none;
};

// Tokens coded (the rest are raw): [sinks, tokens - window), empty where tokens <= sinks + window.
std::pair<int, int> coded_range(int tokens, const CodecSettings& s);
// The raw tokens' positions, ascending (the order the blob stores them in, per tensor and layer).
std::vector<int> raw_token_list(int tokens, const CodecSettings& s);
// Bytes of one coded token's row of a stream: 4 per kept group (fp16 shift, scale), then its packed codes.
std::size_t row_bytes(const Stream& s);

// The blob's fixed header, as encode_blob writes it (the CUDA path writes the same bytes, so either path's
// blob decodes on the other): the cache `shape` (keys), the artifact, and the payload's sizes.
inline constexpr std::size_t kBlobHeaderBytes = 4 + 2 + 1 + 1 + 6 * 4 + 3 * 8;
// Where the CUDA path patches the header: the entropy byte, and the stored payload size (u64, 8-aligned),
// which only the device knows after an entropy stage (kvtc_nvcomp_cuda.cpp writes it there).
inline constexpr std::size_t kHeaderEntropyAt = 7, kHeaderStoredBytesAt = 48;
// The entropy byte of a payload coded by nvCOMP in chunks (0x80 | Entropy): the CUDA path's framing
// (kernels/kv_compression/chunk_frame.cuh), which the CPU decoder refuses by name.
inline constexpr std::uint8_t kNvcompFramed = 0x80;
std::vector<std::uint8_t> blob_header(const KvTensor& shape, const Artifact& a, const CodecSettings& s,
                                      std::uint64_t payload_bytes, std::uint64_t stored_bytes);

struct EncodeStats {
  std::uint64_t header_bytes = 0, raw_bytes = 0, payload_bytes = 0, stored_payload_bytes = 0;
};

EncodeStats encode_blob(const KvTensor& keys, const KvTensor& values, const RopeSpec& rope, const Artifact& a,
                        const CodecSettings& s, std::vector<std::uint8_t>& blob);
// Restores keys and values (already shaped like the cache the blob was made from).
void decode_blob(std::span<const std::uint8_t> blob, const RopeSpec& rope, const Artifact& a, KvTensor& keys,
                 KvTensor& values);

}  // namespace lrb::kvtc
