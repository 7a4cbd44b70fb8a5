#pragma once
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "harness/params.hpp"
#include "workloads/lowrank_linear/problem.hpp"

namespace lrb {

struct LowrankGenRequest {
  int d_in = 0, d_out = 0, rank = 1;
  std::uint64_t seed = 0;
  std::uint64_t key = 0;  // distinguishes projections
  std::string projection;
  int tokens = 0;  // rows of X
  Params params;
};
using LowrankGenerator = std::function<SpectralWeights(const LowrankGenRequest&)>;

// The parameters of lowrank_linear's `spectral` and `model` generators (lowrank_ffn registers the same two
// generators under its own name and forwards to these).
ParamSpecs spectral_generator_params();
ParamSpecs model_generator_params();

// A point of the `model` generator that cannot be built: {parameter, message} when `model` is not the run
// model, one of `own_shape` (the family's shape overrides) is set, or `layer` is past the model's layers.
std::optional<std::pair<std::string, std::string>> invalid_model_point(const Params& p,
                                                                       const std::vector<std::string>& own_shape);

// Smallest rank whose leading singular values keep `energy` of sum s_i^2.
int rank_for_energy(const std::vector<double>& spectrum, double energy);

}  // namespace lrb
