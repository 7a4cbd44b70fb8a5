#pragma once
// Real KV caches from the real model (the kv_compression `model` generator) and the model-level fidelity
// of a restored cache. One prefill of the text's first T + extra tokens gives the cache (keys with RoPE at
// 0..T-1, values), the queries of the tokens that follow (positions T..) and the tokens decoded over the
// cache; a second prefill of a disjoint span right after it gives the calibration cache.
#include <memory>
#include <string>
#include <vector>

#include "harness/json.hpp"
#include "harness/tensor.hpp"
#include "workloads/model/forward.hpp"
#include "workloads/model/llama.hpp"

namespace lrb::model {

struct RealCache {
  std::shared_ptr<const LlamaWeights> weights;
  std::string model_id, text;
  int cache_tokens = 0, decode_tokens = 0, calib_tokens = 0, queries = 0;
  std::vector<int> ids;  // the text's tokens from 0: cache, then the decoded tokens (+1 target), then calibration
  KvCache cache, calib;  // fp32, keys with RoPE applied
  std::vector<MatrixF> queries_pre_rope;  // per layer [queries x dim]: the query heads before RoPE
};

// Made once per (model, text, sizes) and shared (the prefills take seconds on the CPU).
std::shared_ptr<const RealCache> real_cache(const std::string& model_id, const std::string& text_file,
                                            int cache_tokens, int queries, int decode_tokens, int calib_tokens);

// The model decodes the next decode_tokens tokens (teacher-forced) over `reference` and over `restored`
// ([layer][token][kv head][head_dim] in row order, keys with RoPE): {kl, top1_agreement, ppl,
// ppl_reference, tokens, text}; kl is the mean KL(p_reference || p_restored) per decoded token.
Json model_fidelity(const RealCache& rc, const float* ref_keys, const float* ref_values, const float* keys,
                    const float* values);

}  // namespace lrb::model
