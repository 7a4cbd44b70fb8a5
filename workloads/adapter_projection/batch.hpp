#pragma once
// The adapter batch layout, built once per problem and used by every adapter method on both backends:
// tokens sorted into segments by adapter (Punica/SGMV's layout), segment offsets, the adapter of each
// segment and of each token. Segments are in order of the adapter's first appearance in the batch and
// tokens ascend within a segment, so a method that walks segments sees tokens in a fixed order.
#include <span>
#include <vector>

namespace lrb {

// A token with no adapter (Punica's and vLLM's "no LoRA" slot): the base output alone, and 0 in adapter-only mode.
// Its tokens form a segment of their own whose adapter is kNoAdapter; every method skips that segment's LoRA work.
inline constexpr int kNoAdapter = -1;

struct AdapterBatch {
  std::vector<int> token_adapter;    // [batch]: adapter id of each token (BGMV's index; kNoAdapter: none)
  std::vector<int> order;            // [batch]: token ids, segment after segment
  std::vector<int> segment_offset;   // [segments + 1]: segment s is order[offset[s], offset[s + 1])
  std::vector<int> segment_adapter;  // [segments]: adapter id of each segment

  static AdapterBatch from_token_adapters(std::vector<int> token_adapter);
  std::size_t segments() const { return segment_adapter.size(); }
  int batch() const { return static_cast<int>(token_adapter.size()); }
  std::span<const int> tokens(std::size_t s) const {
    return {order.data() + segment_offset[s], static_cast<std::size_t>(segment_offset[s + 1] - segment_offset[s])};
  }
  int segment_size(std::size_t s) const { return segment_offset[s + 1] - segment_offset[s]; }
  bool has_adapter(std::size_t s) const { return segment_adapter[s] != kNoAdapter; }
  // Segments with an adapter: the distinct adapters the batch reads (floors count these).
  std::size_t adapters_used() const;
};

}  // namespace lrb
