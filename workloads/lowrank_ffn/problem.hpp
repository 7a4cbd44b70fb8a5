#pragma once
// lowrank_ffn: a SwiGLU FFN, y = down(silu(gate(x)) * up(x)), whose three weights are each stored as truncated
// SVD factors (issue 12; FlashSVD's fused FFN is the method under test). Each matrix W ~= US Vt with S folded
// into US, like lowrank_linear's: gate and up are [d_ff x d_model] (US [d_ff x r], Vt [r x d_model]), down is
// [d_model x d_ff] (US [d_model x r], Vt [r x d_ff]).
#include <array>
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

struct LowrankFactors {
  MatrixH W;   // d_out x d_in, the uncompressed matrix
  MatrixH US;  // d_out x r
  MatrixH Vt;  // r x d_in
  std::vector<double> spectrum;  // its singular values, descending
  int rank() const { return static_cast<int>(Vt.rows()); }
  double energy_kept() const;    // sum_{i<r} s_i^2 / sum s_i^2
};

struct LowrankFfnProblem : Problem {
  enum Matrix { gate = 0, up = 1, down = 2 };
  static constexpr std::array<const char*, 3> kNames{"gate", "up", "down"};
  std::string model, generator;
  std::uint64_t seed = 0;
  int d_model = 0, d_ff = 0, tokens = 0;
  std::array<LowrankFactors, 3> m;  // gate, up, down
  MatrixH X;                        // tokens x d_model
  // The real model's gate, up and down (generator model), or null: X is then the FFN's real input.
  std::array<std::shared_ptr<const model::RealLinear>, 3> real;
  int rank(Matrix k) const { return m[k].rank(); }
};

}  // namespace lrb
