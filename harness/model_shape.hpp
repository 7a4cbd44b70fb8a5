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
  double rope_theta = 10000.0;
  std::string rope_style = "neox";  // neox (half split) or interleaved (pairs)
  std::vector<ProjectionShape> projections;

  const ProjectionShape* projection(const std::string& name) const {
    for (const auto& p : projections)
      if (p.name == name) return &p;
    return nullptr;
  }
};

}  // namespace lrb
