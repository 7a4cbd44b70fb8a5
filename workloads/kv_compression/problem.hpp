#pragma once
// kv_compression: compress a KV cache for storage, restore it for attention (DESIGN.md section 3.2).
// Layout of every cache tensor: [layer][token][kv head][head_dim], fp16. Keys carry RoPE at their
// positions; values do not.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "harness/method.hpp"
#include "harness/tensor.hpp"

namespace lrb::model {
struct RealCache;
}

namespace lrb {

struct RopeSpec {
  double theta = 10000.0;
  int rotary_dims = 0;        // leading dims of each head that rotate (even)
  std::string style = "neox"; // neox: pairs (i, i + rot/2); interleaved: pairs (2i, 2i + 1)
};

// Rotates (or un-rotates) one head vector in place at position `pos`.
void apply_rope(double* head, int head_dim, int pos, const RopeSpec& rope, bool inverse = false);

struct KvTensor {
  int layers = 0, tokens = 0, heads = 0, head_dim = 0;
  std::vector<Half> data;
  KvTensor() = default;
  KvTensor(int l, int t, int h, int d)
      : layers(l), tokens(t), heads(h), head_dim(d), data(static_cast<std::size_t>(l) * t * h * d) {}
  std::size_t index(int l, int t, int h, int d) const {
    return ((static_cast<std::size_t>(l) * tokens + t) * heads + h) * head_dim + d;
  }
  std::size_t token_width() const { return static_cast<std::size_t>(heads) * head_dim; }  // per layer and token
  std::size_t size() const { return data.size(); }
  std::size_t bytes() const { return data.size() * sizeof(Half); }
};

struct KvProblem : Problem {
  std::string model, generator;
  std::uint64_t seed = 0;
  RopeSpec rope;
  KvTensor keys, values;                // the cache to compress (positions 0..T-1)
  KvTensor calib_keys, calib_values;    // a separate calibration set from the same distribution
  KvTensor queries;                     // [layer][query][kv head][head_dim], RoPE at positions T + j
  std::shared_ptr<const model::RealCache> real;  // the real model behind the cache (generator model), or null
  std::size_t original_bytes() const { return keys.bytes() + values.bytes(); }
};

// What a kv generator is asked for: one of the tensors above, by role.
enum class KvRole { keys, values, calib_keys, calib_values, queries };

}  // namespace lrb
