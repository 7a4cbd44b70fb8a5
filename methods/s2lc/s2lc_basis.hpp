#pragma once
// S2LC's shared spectral basis of one layer-projection (the seed's V_common).
//
// Given the population dW_k = s_k B_k A_k (d_out x d_in), the R-dimensional input-side subspace that
// minimizes sum_k ||dW_k - dW_k V V^T||_F^2 over orthonormal V [d_in x R] is spanned by the top R
// eigenvectors of M = sum_k dW_k^T dW_k (Eckart-Young on the stacked [dW_1; ...; dW_K]).
// No dW_k is formed: with the thin QR B_k = Q_k R_k, dW_k^T dW_k = s_k^2 A_k^T R_k^T R_k A_k, so
// M = Z^T Z with Z = [s_1 R_1 A_1; ...; s_K R_K A_K], a (K r) x d_in matrix of small factors.
#include <vector>

#include "workloads/adapter_projection/problem.hpp"

namespace lrb::s2lc {

struct BasisResult {
  MatrixD V;                      // d_in x R, orthonormal columns (fp64; the method stores it in fp16)
  std::vector<double> eigenvalues;  // top R eigenvalues of M, descending
  double total_energy = 0;        // trace(M) = sum_k ||dW_k||_F^2
  std::string solver;             // "exact" or "subspace_iteration"
  int iterations = 0;             // subspace iterations (0 for exact)
  bool converged = true;
};

struct BasisOptions {
  // The exact path eigen-decomposes the (K r) x (K r) Gram matrix Z Z^T; above this size the top-R subspace
  // is found by block subspace iteration on M = Z^T Z applied through Z (never formed).
  int exact_max = 2048;  // 1600 (K=100, r=16) takes ~5 s per projection on one core
  double tolerance = 1e-10;  // relative change of the captured energy that stops the iteration
  int max_iterations = 200;
  bool force_iterative = false;  // tests compare the two paths
};

// Z = [s_k R_k A_k]_k (K r x d_in) of one projection's adapters.
MatrixD stacked_factors(const std::vector<AdapterFactors>& adapters);

// The shared basis of rank R (R <= d_in) from Z. Deterministic for a given Z.
BasisResult shared_basis(const MatrixD& Z, int R, const BasisOptions& options = {});

}  // namespace lrb::s2lc
