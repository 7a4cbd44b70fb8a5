#pragma once
#include <functional>

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

// Smallest rank whose leading singular values keep `energy` of sum s_i^2.
int rank_for_energy(const std::vector<double>& spectrum, double energy);

}  // namespace lrb
