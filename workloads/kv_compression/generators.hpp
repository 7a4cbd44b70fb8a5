#pragma once
#include <functional>

#include "harness/params.hpp"
#include "workloads/kv_compression/problem.hpp"

namespace lrb {

struct KvGenRequest {
  KvRole role = KvRole::keys;
  int tokens = 0, heads = 0, head_dim = 0;
  std::uint64_t seed = 0;
  Params params;  // the generator's own parameters
  int cache_tokens = 0, queries = 0, calib_tokens = 0;  // the whole problem's sizes (real generators read them)
};
// Fills out[tokens][heads][head_dim] for one layer with pre-RoPE values.
using KvGenerator = std::function<void(const KvGenRequest&, int layer, double* out)>;

}  // namespace lrb
