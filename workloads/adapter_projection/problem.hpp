#pragma once
// adapter_projection: many LoRA adapters on one base model (DESIGN.md section 3.1).
// Y_p = X_p W_p^T + s_k (X_p A_k^T) B_k^T for every token with its own adapter k.
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "harness/method.hpp"
#include "harness/tensor.hpp"
#include "workloads/adapter_projection/batch.hpp"

namespace lrb {

struct AdapterFactors {
  MatrixH A;         // r x d_in
  MatrixH B;         // d_out x r
  float scale = 1;   // s = alpha / r
};

// One projection's K adapters stacked: A as [K, r, d_in], B as [K, d_out, r] (row-major, contiguous),
// the storage batched kernels (BGMV/SGMV) index with one base pointer per projection.
struct StackedAdapters {
  std::vector<Half> A, B;
  std::vector<float> scale;  // [K]
  int K = 0, rank = 0, d_in = 0, d_out = 0;
};

struct ProjectionProblem {
  std::string name;  // "L0.q"
  std::string kind;  // "q"
  int layer = 0;
  int d_in = 0, d_out = 0;
  MatrixH W;  // d_out x d_in (empty in adapter-only mode)
  MatrixH X;  // batch x d_in
  std::vector<AdapterFactors> adapters;  // K
  StackedAdapters stacked() const;       // the same factors, stacked (built on demand)
};

// The FP64 reference of one projection, split so the adapter part can be judged on its own.
struct AdapterReference {
  MatrixD base;     // X W^T (empty in adapter-only mode)
  MatrixD adapter;  // s (X A^T) B^T per token
};

struct AdapterProblem : Problem {
  // FP64 references by projection, computed once per point and shared by every method's check.
  mutable std::map<std::size_t, std::shared_ptr<const AdapterReference>> reference_cache;
  // Identity of the adapter tensors (every parameter they depend on): points that differ only in mode,
  // batch or popularity share it, so encoders can reuse their output across such points.
  std::string adapters_key;

  std::string model, mode, generator, popularity;
  std::string source = "synthetic";  // or the folder real adapters were loaded from
  std::string base_source = "generated";  // or the real model the base weights came from
  std::string base_model;                 // that model's id ("" for generated weights), in either mode
  // fidelity.model (workloads/adapter_projection/model_fidelity.hpp) where base_model is set: tokens of
  // `model_text` the model runs (0: none) and adapters evaluated.
  int model_eval_tokens = 0, model_eval_adapters = 0;
  std::string model_text;
  bool with_base = true;
  int K = 1, rank = 1, batch = 1;
  double alpha = 1;
  std::uint64_t seed = 0;
  AdapterBatch layout;  // tokens by adapter: segments, offsets, ids (shared by every method)
  std::vector<ProjectionProblem> projections;
};

// What a generator is asked for: the K adapters of one projection.
struct AdapterGenRequest {
  int d_in = 0, d_out = 0, rank = 1, K = 1;
  float scale = 1;
  double adapter_norm = 0.25;      // ||s B A||_F = adapter_norm * sqrt(d_out) (base: ||W||_F ~ sqrt(d_out))
  std::uint64_t seed = 0;
  std::uint64_t projection_key = 0;  // distinguishes projections (layer, kind)
  int layer = 0;                     // for loaders of real adapters
  std::string model;                 // the model shape's id (its architecture names the modules)
  std::string projection;            // q, k, v, o, gate, up, down
  Params params;                     // the generator's own parameters
};
using AdapterGenerator = std::function<std::vector<AdapterFactors>(const AdapterGenRequest&)>;

// Builds a problem from explicit sizes (tests and the family share it).
struct AdapterProblemSpec {
  std::string model = "tiny";
  std::vector<std::string> projections = {"q"};
  int layers = 1;
  std::string mode = "base+adapter";
  int K = 1, rank = 1, batch = 1;
  double alpha = 16;
  std::string popularity = "uniform";
  double zipf_a = 1.1;
  double no_adapter = 0;  // share of tokens with no adapter (kNoAdapter), chosen after the popularity draw
  double adapter_norm = 0.25;
  std::string generator = "trained_like";
  Json generator_params = Json::object();
  std::uint64_t seed = 0;
  // Overrides the model's projection shapes when > 0 (odd-size tests).
  int d_in = 0, d_out = 0;
  // "generated", or a real model's id (smollm2-135m): the base weights W of each (layer, projection) taken
  // from it, rounded to fp16.
  std::string base_weights = "generated";
};
std::shared_ptr<AdapterProblem> build_adapter_problem(const AdapterProblemSpec& spec);

// FP64 reference of projection p (computed on demand; large shapes are sampled by the family).
AdapterReference adapter_reference(const AdapterProblem& problem, std::size_t p);
// The same, computed once per problem (the family's check uses this one).
const AdapterReference& cached_adapter_reference(const AdapterProblem& problem, std::size_t p);

}  // namespace lrb
