#pragma once
// lowrank_linear: a layer stored as truncated SVD factors (DESIGN.md section 3.3).
// W ~= U_r S_r V_r^T; stored as US = U_r S_r [d_out x r] and Vt = V_r^T [r x d_in] (S folded into U).
// Output Y = X W_r^T.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "harness/method.hpp"
#include "harness/tensor.hpp"

namespace lrb::model {
struct RealLinear;
}

namespace lrb {

struct LowrankProblem : Problem {
  std::string model, projection, generator;
  std::uint64_t seed = 0;
  int d_in = 0, d_out = 0, tokens = 0, rank = 0;
  MatrixH W;     // d_out x d_in, the uncompressed layer
  MatrixH US;    // d_out x r
  MatrixH Vt;    // r x d_in
  MatrixH X;     // tokens x d_in
  std::vector<double> spectrum;  // all singular values of W (exact, by construction)
  double energy_kept = 0;        // sum_{i<r} s_i^2 / sum s_i^2
  std::shared_ptr<const model::RealLinear> real;  // the real model's linear (generator model), or null
};

// What a weight generator returns: W and its truncated factors for a requested rank.
struct SpectralWeights {
  MatrixH W, US, Vt;
  std::vector<double> spectrum;
  MatrixH X;  // real inputs where the generator has them (else the family draws X)
  std::shared_ptr<const model::RealLinear> real;
};

}  // namespace lrb
