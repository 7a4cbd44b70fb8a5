#pragma once
// Shared pieces of the adapter_projection CPU paths: fp32 copies of the problem's fp16 inputs and the
// per-segment token gather that every grouped method does.
#include <span>
#include <vector>

#include "workloads/adapter_projection/problem.hpp"

namespace lrb {

// fp32 working copies of one projection's base weight and activations.
struct CpuProjection {
  MatrixF W;  // d_out x d_in (empty in adapter-only mode)
  MatrixF X;  // batch x d_in
};

inline std::vector<CpuProjection> to_cpu(const AdapterProblem& p) {
  std::vector<CpuProjection> out;
  for (const auto& proj : p.projections) out.push_back({proj.W.cast<float>(), proj.X.cast<float>()});
  return out;
}

// X rows of one segment of the batch layout, gathered into a contiguous workspace.
inline void gather_rows(const MatrixF& X, std::span<const int> tokens, MatrixF& into) {
  into.resize(static_cast<Eigen::Index>(tokens.size()), X.cols());
  for (std::size_t i = 0; i < tokens.size(); ++i) into.row(static_cast<Eigen::Index>(i)) = X.row(tokens[i]);
}

inline std::uint64_t footprint_of(const std::vector<CpuProjection>& v, bool weights) {
  std::uint64_t b = 0;
  for (const auto& c : v) b += weights ? bytes_of(c.W) : bytes_of(c.X);
  return b;
}

}  // namespace lrb
