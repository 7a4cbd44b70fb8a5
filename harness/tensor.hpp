#pragma once
// Dense row-major matrices. Problems hold their inputs in fp16 (what a GPU method is given); CPU paths
// convert to fp32 in prepare; references compute in fp64 from the same fp16 values.
#include <Eigen/Dense>

namespace lrb {

using Half = Eigen::half;
using MatrixH = Eigen::Matrix<Half, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using MatrixF = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using MatrixD = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

inline Half to_half(double v) { return Half(static_cast<float>(v)); }

template <class M>
std::size_t bytes_of(const M& m) {
  return static_cast<std::size_t>(m.size()) * sizeof(typename M::Scalar);
}

// fp16 storage bytes of an r x c matrix (the representation a GPU method keeps).
inline double fp16_bytes(double rows, double cols) { return 2.0 * rows * cols; }

}  // namespace lrb
