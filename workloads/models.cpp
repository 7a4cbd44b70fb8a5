// The model-shape catalog. A model registers its shape once; workloads and configs refer to it by id.
#include "harness/registry.hpp"

namespace lrb {
namespace {

std::vector<ProjectionShape> llama_projections(int hidden, int kv_dim, int ffn) {
  return {{"q", hidden, hidden}, {"k", hidden, kv_dim}, {"v", hidden, kv_dim}, {"o", hidden, hidden},
          {"gate", hidden, ffn}, {"up", hidden, ffn},   {"down", ffn, hidden}};
}

ModelShape llama_like(std::string id, std::string description, int hidden, int layers, int heads, int kv_heads,
                      int head_dim, int ffn, double theta, std::string rope_style, int vocab = 0) {
  ModelShape m;
  m.vocab = vocab;
  m.id = std::move(id);
  m.description = std::move(description);
  m.hidden = hidden;
  m.n_layers = layers;
  m.n_heads = heads;
  m.n_kv_heads = kv_heads;
  m.head_dim = head_dim;
  m.ffn = ffn;
  m.rope_theta = theta;
  m.rope_style = std::move(rope_style);
  m.projections = llama_projections(hidden, kv_heads * head_dim, ffn);
  return m;
}

[[maybe_unused]] const bool registered = [] {
  auto& r = Registry::instance();
  r.add_model(llama_like("llama2-7b", "Llama-2-7B: hidden 4096, 32 layers, 32 heads x 128, FFN 11008", 4096, 32, 32,
                         32, 128, 11008, 10000.0, "neox"));
  r.add_model(llama_like("smollm-135m", "SmolLM-135M (Llama architecture): hidden 576, 30 layers, 9 heads / 3 KV heads x 64, FFN 1536",
                         576, 30, 9, 3, 64, 1536, 10000.0, "neox"));
  // The GGUF lrbench runs (scripts/setup): its q/k rows are in llama.cpp's order, so RoPE pairs (2i, 2i+1).
  r.add_model(llama_like("smollm2-135m",
                         "SmolLM2-135M-Instruct, the GGUF run by lrbench model: hidden 576, 30 layers, 9 heads / 3 KV "
                         "heads x 64, FFN 1536, RoPE theta 100000 (pairs interleaved as in llama.cpp's layout)",
                         576, 30, 9, 3, 64, 1536, 100000.0, "interleaved", 49152));
  r.add_model(llama_like("stories260k", "llama2.c stories260K: dim 64, 5 layers, 8 heads / 4 KV heads x 8, FFN 172",
                         64, 5, 8, 4, 8, 172, 10000.0, "interleaved", 512));
  // GPT-2 small: fused q|k|v (attn.c_attn, 768 -> 2304), attn.c_proj, mlp.c_fc, mlp.c_proj; learned
  // positions (its RoPE fields are unused).
  ModelShape gpt2;
  gpt2.id = "gpt2";
  gpt2.description = "GPT-2 small: hidden 768, 12 layers, 12 heads x 64, FFN 3072, fused qkv (768 -> 2304)";
  gpt2.architecture = "gpt2";
  gpt2.hidden = 768;
  gpt2.n_layers = 12;
  gpt2.n_heads = gpt2.n_kv_heads = 12;
  gpt2.head_dim = 64;
  gpt2.ffn = 3072;
  gpt2.projections = {{"qkv", 768, 2304}, {"o", 768, 768}, {"up", 768, 3072}, {"down", 3072, 768}};
  r.add_model(gpt2);
  // Odd sizes on purpose (not multiples of 16; head_dim 10) so tests catch tiling assumptions.
  r.add_model(llama_like("tiny", "test shape: hidden 40, 2 layers, 4 heads / 2 KV heads x 10, FFN 72", 40, 2, 4, 2,
                         10, 72, 10000.0, "neox"));
  return true;
}();

}  // namespace
}  // namespace lrb
