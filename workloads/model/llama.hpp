#pragma once
// A Llama-architecture model's weights in fp32 (RMSNorm, RoPE, GQA attention, SwiGLU, tied or untied head),
// loaded from a GGUF (SmolLM2-135M) or a llama2.c checkpoint (stories260K), and found by model id.
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "harness/tensor.hpp"

namespace lrb::model {

// Which elements RoPE rotates together: adjacent pairs (2i, 2i+1), as GGUF's llama tensors (llama.cpp
// permutes Hugging Face's q/k rows for it) and llama2.c use, or the two halves (i, i + d/2), as Hugging Face's
// Llama uses ("NeoX" style).
enum class RopeStyle { interleaved, neox };

struct LlamaConfig {
  std::string name;    // model id or file stem
  std::string source;  // the file it came from
  int dim = 0, hidden = 0, layers = 0, heads = 0, kv_heads = 0, head_dim = 0, vocab = 0, context = 0;
  int rotary_dims = 0;  // elements of each head RoPE rotates (head_dim for these models)
  double rope_theta = 10000.0, rms_eps = 1e-5;
  RopeStyle rope_style = RopeStyle::interleaved;
  bool tied_head = true;  // the output head is the token embedding
  int kv_dim() const { return kv_heads * head_dim; }
};

struct LlamaLayer {
  std::vector<float> attn_norm, ffn_norm;
  MatrixF wq, wk, wv, wo, w_gate, w_up, w_down;  // row-major [out x in]
};

struct LlamaWeights {
  LlamaConfig config;
  MatrixF token_embedding;  // [vocab x dim]
  std::vector<float> output_norm;
  MatrixF output;  // [vocab x dim]; empty where tied
  std::vector<LlamaLayer> layers;
  const MatrixF& head() const { return config.tied_head ? token_embedding : output; }
  // The named linear of a layer: q, k, v, o, gate, up, down (errors name the projection otherwise).
  MatrixF& linear(int layer, const std::string& projection);
  const MatrixF& linear(int layer, const std::string& projection) const;
};

class GgufFile;
LlamaWeights load_llama_gguf(const GgufFile& gguf, const std::string& name);
// llama2.c's legacy checkpoint: 7 int32 {dim, hidden, layers, heads, kv_heads, vocab (negative: untied),
// seq_len}, then fp32 weights (embedding, rms_att, wq, wk, wv, wo, rms_ffn, w1, w2, w3, rms_final, [freq
// tables], [classifier]). Sizes checked against the file before any allocation.
LlamaWeights load_llama2c(const std::filesystem::path& file);
// The same from bytes in memory (the fuzz target); `name` stands for the file in messages.
LlamaWeights load_llama2c(const std::string& name, const std::vector<char>& bytes);

// Model ids: smollm2-135m (deps/models/SmolLM2-135M-Instruct.Q4_1.gguf, installed by scripts/setup) and
// stories260k (../shared/data/stories260k/stories260K.bin). The file is looked for under $LRBENCH_MODEL_DIR,
// then the source tree's deps/models and ../shared/data; nothing where it is absent.
std::optional<std::filesystem::path> find_model_file(const std::string& id);
// Loads a model by id or by path (.gguf or llama2.c .bin); the error says where it looked.
// Loaded once per process and shared.
std::shared_ptr<const LlamaWeights> load_model(const std::string& id_or_path);
std::shared_ptr<const LlamaWeights> load_model_uncached(const std::string& id_or_path);
// Host bytes of one fp32 copy of a model by id, from its registered shape (memory estimates, made before
// anything is loaded); 0 for an id without a shape.
double model_host_bytes(const std::string& id);

}  // namespace lrb::model
