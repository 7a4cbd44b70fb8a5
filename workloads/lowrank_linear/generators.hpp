#pragma once
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "harness/memory_limits.hpp"
#include "harness/params.hpp"
#include "harness/task_family.hpp"
#include "workloads/common/fidelity.hpp"
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

// The generator `id` of `family` and its parameters' values at this point.
std::pair<LowrankGenerator, Params> lowrank_generator(const std::string& family, const std::string& id,
                                                      const Point& point);
// The seed key of a projection name: the same name gives the same weight in lowrank_linear and lowrank_ffn.
std::uint64_t projection_key(const std::string& projection);
// The model generator holds the real model in fp32 on the host twice (the copy fidelity.model modifies).
void add_model_generator_memory(const Params& p, MemoryEstimate& e);
// Fidelity of a low-rank family's output: against the target (the uncompressed computation for a full
// method, else the truncated one), with both relative errors beside it.
Comparison lowrank_comparison(const ErrorAccumulator& vs_full, const ErrorAccumulator& vs_truncated, bool to_full,
                              const std::string& full_target, const std::string& truncated_target);

// Smallest rank whose leading singular values keep `energy` of sum s_i^2.
int rank_for_energy(const std::vector<double>& spectrum, double energy);

}  // namespace lrb
