#include "methods/s2lc/s2lc_basis.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include <Eigen/Eigenvalues>
#include <Eigen/QR>
#include <fmt/format.h>

#include "workloads/common/rng.hpp"

namespace lrb::s2lc {

namespace {

using ColMatrix = Eigen::MatrixXd;

// Orthonormal basis of the columns of `m` (thin Householder Q).
ColMatrix thin_q(const ColMatrix& m) {
  Eigen::HouseholderQR<ColMatrix> qr(m);
  return qr.householderQ() * ColMatrix::Identity(m.rows(), m.cols());
}

// Eigenpairs of a symmetric matrix, largest first.
void descending_eigen(const ColMatrix& h, Eigen::VectorXd& values, ColMatrix& vectors) {
  Eigen::SelfAdjointEigenSolver<ColMatrix> eig(h);
  if (eig.info() != Eigen::Success) throw std::runtime_error("s2lc basis: symmetric eigensolver failed");
  values = eig.eigenvalues().reverse();
  vectors = eig.eigenvectors().rowwise().reverse();
}

// Appends unit directions e_j, orthogonalized against the columns already in V, until V has R columns
// (only when the population spans fewer than R dimensions).
void complete_basis(ColMatrix& V, int filled, int R) {
  const Eigen::Index d = V.rows();
  for (Eigen::Index j = 0; j < d && filled < R; ++j) {
    Eigen::VectorXd v = Eigen::VectorXd::Unit(d, j);
    for (int pass = 0; pass < 2; ++pass)
      for (int c = 0; c < filled; ++c) v -= V.col(c).dot(v) * V.col(c);
    const double n = v.norm();
    if (n < 1e-6) continue;
    V.col(filled++) = v / n;
  }
}

BasisResult exact_basis(const ColMatrix& Z, int R) {
  BasisResult out;
  out.solver = "exact";
  Eigen::VectorXd values;
  ColMatrix vectors;
  descending_eigen(Z * Z.transpose(), values, vectors);  // Gram matrix: same nonzero spectrum as M
  ColMatrix V = ColMatrix::Zero(Z.cols(), R);
  const double floor = std::max(values.size() > 0 ? values(0) : 0.0, 0.0) * 1e-13;
  int filled = 0;
  for (Eigen::Index i = 0; i < values.size() && filled < R; ++i) {
    if (values(i) <= floor) break;
    V.col(filled) = Z.transpose() * vectors.col(i) / std::sqrt(values(i));  // right singular vector of Z
    out.eigenvalues.push_back(values(i));
    ++filled;
  }
  while (static_cast<int>(out.eigenvalues.size()) < R) out.eigenvalues.push_back(0.0);
  complete_basis(V, filled, R);
  out.V = V;
  return out;
}

BasisResult iterative_basis(const ColMatrix& Z, int R, const BasisOptions& o) {
  BasisResult out;
  out.solver = "subspace_iteration";
  const Eigen::Index d = Z.cols();
  const int p = static_cast<int>(std::min<Eigen::Index>(d, R + 16));  // block with oversampling
  Rng rng(0x5215c0de);
  ColMatrix Q(d, p);
  for (Eigen::Index i = 0; i < Q.size(); ++i) Q.data()[i] = rng.normal();
  Q = thin_q(Q);
  double previous = -1;
  Eigen::VectorXd values;
  ColMatrix vectors;
  out.converged = false;
  for (int it = 1; it <= o.max_iterations; ++it) {
    const ColMatrix Y = Z.transpose() * (Z * Q);  // M Q
    descending_eigen(Q.transpose() * Y, values, vectors);  // Rayleigh-Ritz on span(Q)
    const double energy = values.head(R).sum();
    out.iterations = it;
    if (previous >= 0 && std::abs(energy - previous) <= o.tolerance * std::abs(energy)) {
      out.converged = true;
      break;
    }
    previous = energy;
    if (it < o.max_iterations) Q = thin_q(Y);
  }
  out.V = Q * vectors.leftCols(R);
  for (int i = 0; i < R; ++i) out.eigenvalues.push_back(std::max(values(i), 0.0));
  return out;
}

}  // namespace

MatrixD stacked_factors(const std::vector<AdapterFactors>& adapters) {
  if (adapters.empty()) throw std::invalid_argument("s2lc basis: no adapters");
  const Eigen::Index d_in = adapters.front().A.cols();
  std::vector<ColMatrix> blocks;
  Eigen::Index rows = 0;
  for (const auto& f : adapters) {
    const ColMatrix A = f.A.cast<float>().cast<double>(), B = f.B.cast<float>().cast<double>();
    Eigen::HouseholderQR<ColMatrix> qr(B);
    const Eigen::Index k = std::min(B.rows(), B.cols());
    const ColMatrix Rk = qr.matrixQR().topRows(k).triangularView<Eigen::Upper>();
    blocks.push_back(static_cast<double>(f.scale) * Rk * A);
    rows += k;
  }
  MatrixD Z(rows, d_in);
  Eigen::Index at = 0;
  for (const auto& b : blocks) {
    Z.middleRows(at, b.rows()) = b;
    at += b.rows();
  }
  return Z;
}

BasisResult shared_basis(const MatrixD& Zr, int R, const BasisOptions& options) {
  if (R < 1 || R > Zr.cols())
    throw std::invalid_argument(fmt::format("s2lc basis: rank R={} must be in [1, d_in={}]", R, Zr.cols()));
  const ColMatrix Z = Zr;
  BasisResult out = (!options.force_iterative && Z.rows() <= options.exact_max) ? exact_basis(Z, R)
                                                                                : iterative_basis(Z, R, options);
  out.total_energy = Z.squaredNorm();
  return out;
}

}  // namespace lrb::s2lc
