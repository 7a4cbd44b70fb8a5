#include "workloads/common/orthonormal.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace lrb {

void orthonormalize_rows(MatrixD& m, Rng& rng) {
  const int r = static_cast<int>(m.rows()), d = static_cast<int>(m.cols());
  for (int i = 0; i < r; ++i) {
    for (int attempt = 0; attempt < 8; ++attempt) {
      const double before = [&] {
        double s = 0;
        for (int c = 0; c < d; ++c) s += m(i, c) * m(i, c);
        return std::sqrt(s);
      }();
      for (int pass = 0; pass < 2; ++pass) {
        for (int j = 0; j < i; ++j) {
          double dot = 0;
          for (int c = 0; c < d; ++c) dot += m(i, c) * m(j, c);
          for (int c = 0; c < d; ++c) m(i, c) -= dot * m(j, c);
        }
      }
      double norm = 0;
      for (int c = 0; c < d; ++c) norm += m(i, c) * m(i, c);
      norm = std::sqrt(norm);
      if (norm > 1e-10 * std::max(before, 1.0)) {
        for (int c = 0; c < d; ++c) m(i, c) /= norm;
        break;
      }
      for (int c = 0; c < d; ++c) m(i, c) = rng.normal();  // dependent: draw a fresh direction
    }
  }
}

MatrixD random_orthonormal_rows(int r, int d, Rng& rng) {
  MatrixD m(r, d);
  for (int i = 0; i < r; ++i)
    for (int c = 0; c < d; ++c) m(i, c) = rng.normal();
  orthonormalize_rows(m, rng);
  return m;
}

BlockOrthogonal::BlockOrthogonal(int d, Rng& rng, int block) : d_(d), b_(std::min(block, d)), perm_(d) {
  const int nblocks = (d + b_ - 1) / b_;
  auto make = [&](std::vector<MatrixD>& blocks) {
    for (int k = 0; k < nblocks; ++k) {
      const int size = std::min(b_, d - k * b_);
      blocks.push_back(random_orthonormal_rows(size, size, rng));
    }
  };
  make(first_);
  make(second_);
  std::iota(perm_.begin(), perm_.end(), 0);
  for (int i = d - 1; i > 0; --i) std::swap(perm_[i], perm_[rng.below(static_cast<std::uint64_t>(i) + 1)]);
}

void BlockOrthogonal::apply_blocks(const std::vector<MatrixD>& blocks, const double* x, double* y) const {
  int offset = 0;
  for (const auto& blk : blocks) {
    const int size = static_cast<int>(blk.rows());
    for (int i = 0; i < size; ++i) {
      double s = 0;
      for (int c = 0; c < size; ++c) s += blk(i, c) * x[offset + c];
      y[offset + i] = s;
    }
    offset += size;
  }
}

void BlockOrthogonal::apply(const double* x, double* y) const {
  std::vector<double> t(d_), p(d_);
  apply_blocks(first_, x, t.data());
  for (int i = 0; i < d_; ++i) p[perm_[i]] = t[i];
  apply_blocks(second_, p.data(), y);
}

std::vector<double> BlockOrthogonal::column(int j) const {
  std::vector<double> e(d_, 0.0), out(d_);
  e[j] = 1.0;
  apply(e.data(), out.data());
  return out;
}

}  // namespace lrb
