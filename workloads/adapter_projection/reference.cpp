// adapter_projection's FP64 reference: X W^T and s (X A_k^T) B_k^T per token, from the fp16 inputs.
#include "workloads/adapter_projection/problem.hpp"

namespace lrb {

const AdapterReference& cached_adapter_reference(const AdapterProblem& problem, std::size_t pi) {
  auto it = problem.reference_cache.find(pi);
  if (it == problem.reference_cache.end())
    it = problem.reference_cache.emplace(pi, std::make_shared<const AdapterReference>(adapter_reference(problem, pi))).first;
  return *it->second;
}

AdapterReference adapter_reference(const AdapterProblem& problem, std::size_t pi) {
  const ProjectionProblem& proj = problem.projections[pi];
  const MatrixD X = proj.X.cast<float>().cast<double>();
  AdapterReference ref;
  if (problem.with_base) ref.base = X * proj.W.cast<float>().cast<double>().transpose();
  ref.adapter = MatrixD::Zero(problem.batch, proj.d_out);
  const AdapterBatch& b = problem.layout;
  for (std::size_t s = 0; s < b.segments(); ++s) {
    if (!b.has_adapter(s)) continue;  // the base alone (adapter rows stay 0)
    const AdapterFactors& f = proj.adapters[b.segment_adapter[s]];
    const MatrixD A = f.A.cast<float>().cast<double>(), B = f.B.cast<float>().cast<double>();
    for (int t : b.tokens(s)) {
      const Eigen::VectorXd h = A * X.row(t).transpose();
      ref.adapter.row(t) = (static_cast<double>(f.scale) * (B * h)).transpose();
    }
  }
  return ref;
}

}  // namespace lrb
