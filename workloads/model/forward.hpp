#pragma once
// The model's forward pass on the CPU, fp32 (Eigen): prefill of many tokens or decode of one, over a KV
// cache that holds every layer's keys (RoPE applied) and values. The reference the CUDA pass and every
// model-level fidelity number are measured against.
#include <memory>
#include <string>
#include <vector>

#include "harness/tensor.hpp"
#include "workloads/model/llama.hpp"

namespace lrb::model {

// Keys and values of positions [0, length) of every layer: k[l], v[l] are [capacity x kv_dim], row t = the
// token at position t (keys with RoPE applied at t, as the attention reads them).
struct KvCache {
  int length = 0;
  std::vector<MatrixF> k, v;
  int capacity() const { return k.empty() ? 0 : static_cast<int>(k.front().rows()); }
};

// RoPE on one head's vector at position `pos` (in place), with the model's theta, style and rotary dims;
// `sign` -1 undoes it.
void apply_rope(float* x, int pos, const LlamaConfig& c, int sign = 1);

// The inputs of one layer's linears over all positions: q/k/v read attn_in, o reads o_in, gate/up read
// ffn_in, down reads down_in.
struct LinearInputs {
  MatrixF attn_in, o_in, ffn_in, down_in;
  const MatrixF& of(const std::string& projection) const;  // errors name a projection that is not a linear
};

// Optional capture during a forward pass: each layer's queries (before RoPE) of positions
// [first, first + count) of the tokens passed, and the linear inputs of one layer (linear_layer >= 0) or of
// every layer (kAllLayers: one pass calibrates a whole model).
struct ForwardTrace {
  static constexpr int kAllLayers = -2;
  int first = 0, count = 0;
  std::vector<MatrixF> queries;  // per layer [count x dim]
  int linear_layer = -1;
  std::vector<LinearInputs> linear_inputs;  // [layers]; only the traced layers' filled
  bool traces(int layer) const { return linear_layer == layer || linear_layer == kAllLayers; }
  const MatrixF& input_of(const std::string& projection) const { return input_of(linear_layer, projection); }
  const MatrixF& input_of(int layer, const std::string& projection) const;
};

class LlamaCpu {
 public:
  explicit LlamaCpu(std::shared_ptr<const LlamaWeights> weights) : w_(std::move(weights)) {}
  KvCache new_cache(int capacity) const;
  // Runs `tokens` at positions cache.length ... cache.length + n - 1, appending them to the cache; returns the
  // logits [n x vocab]. Errors: a token outside the vocabulary, a cache too small.
  MatrixF forward(const std::vector<int>& tokens, KvCache& cache, ForwardTrace* trace = nullptr) const;
  const LlamaWeights& weights() const { return *w_; }

 private:
  std::shared_ptr<const LlamaWeights> w_;
};

// The same pass on the GPU (workloads/model/forward_cuda.cpp): fp16 weights and GEMM inputs, fp32
// activations, KV cache and accumulation (cuBLAS GEMMs with fp32 compute). Owns its device KV cache.
class ModelRunner {
 public:
  virtual ~ModelRunner() = default;
  virtual MatrixF forward(const std::vector<int>& tokens) = 0;  // appends to the cache; logits on the host
  virtual void reset() = 0;                                     // empties the cache
};
// Nothing in a build without CUDA or on a machine without a GPU.
std::unique_ptr<ModelRunner> make_cuda_runner(std::shared_ptr<const LlamaWeights> weights, int capacity);

// Log-probabilities of each row's softmax at the given column, and the row's argmax (teacher forcing).
struct NextTokenStats {
  std::vector<double> logprob;  // log p(next[i] | row i)
  std::vector<int> top1;
};
NextTokenStats next_token_stats(const MatrixF& logits, const std::vector<int>& next);

}  // namespace lrb::model
