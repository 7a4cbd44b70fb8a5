#pragma once
// Random orthonormal bases for generators, computed in plain double loops (deterministic: no SIMD-
// dependent summation order).
#include <vector>

#include "workloads/common/rng.hpp"
#include "harness/tensor.hpp"

namespace lrb {

// Orthonormalizes the rows of `m` in place (modified Gram-Schmidt, twice for stability).
// Rows that become numerically dependent are replaced by fresh random directions from `rng`.
void orthonormalize_rows(MatrixD& m, Rng& rng);

// r random orthonormal rows of length d (r <= d).
MatrixD random_orthonormal_rows(int r, int d, Rng& rng);

// A random orthogonal d x d transform that is cheap to apply to many vectors: two layers of random
// orthogonal blocks (size b) with a random permutation between them; each output coordinate mixes up to
// b*b inputs. Exactly orthogonal; O(d*b) per vector.
class BlockOrthogonal {
 public:
  BlockOrthogonal(int d, Rng& rng, int block = 64);
  int dim() const { return d_; }
  // y = Q x
  void apply(const double* x, double* y) const;
  // Column j of Q.
  std::vector<double> column(int j) const;

 private:
  void apply_blocks(const std::vector<MatrixD>& blocks, const double* x, double* y) const;
  int d_;
  int b_;
  std::vector<MatrixD> first_, second_;
  std::vector<int> perm_;
};

}  // namespace lrb
