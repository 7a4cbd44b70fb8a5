#pragma once
// Shapes of real models, by name (the catalog lives in workloads/models.cpp).
#include <string>
#include <vector>

namespace lrb {

struct ProjectionShape {
  std::string name;  // q, k, v, o, gate, up, down; qkv where the model fuses them (GPT-2's c_attn)
  int d_in = 0;
  int d_out = 0;
};

struct ModelShape {
  std::string id;
  std::string description;
  std::string architecture = "llama";  // llama or gpt2: how real checkpoints name its modules
  int hidden = 0;
  int n_layers = 0;
  int n_heads = 0;
  int n_kv_heads = 0;
  int head_dim = 0;
  int ffn = 0;
  int vocab = 0;         // 0: not stated (only the models lrbench runs need it)
  bool tied_head = true;  // the output head is the token embedding
  double rope_theta = 10000.0;
  std::string rope_style = "neox";  // neox (half split) or interleaved (pairs)
  std::vector<ProjectionShape> projections;

  // Weights of the whole model (linears of every layer, embedding, untied head; norms are negligible): what
  // the real-model workloads hold in fp32 on the host.
  double weight_count() const {
    double n = 0;
    for (const auto& p : projections) n += static_cast<double>(p.d_in) * p.d_out;
    return n_layers * n + (tied_head ? 1.0 : 2.0) * static_cast<double>(vocab) * hidden;
  }

  const ProjectionShape* projection(const std::string& name) const {
    for (const auto& p : projections)
      if (p.name == name) return &p;
    return nullptr;
  }
};

}  // namespace lrb
