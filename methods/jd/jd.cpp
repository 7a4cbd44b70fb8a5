// jd_full and jd_diag (Compress-then-Serve, arXiv 2407.00066; methods/jd/jd_fit.hpp), CPU paths (Eigen,
// fp32): per projection Z = X V once for the batch, then per adapter group Y_t += (Z_t S_k^T) U^T (JD-Full:
// S_k a full R x R core; JD-Diag: S_k = diag(sigma_k)), plus X W^T in base+adapter mode. The fit runs in
// prepare (untimed, metrics.encode_s) and is shared by prepared copies and points with the same adapters.
// Declared here for both paths (the CUDA path: jd_cuda.cpp).
#include "harness/registry.hpp"
#include "methods/jd/jd_method.hpp"
#include "workloads/adapter_projection/cpu_helpers.hpp"
#include "workloads/adapter_projection/method_base.hpp"

namespace lrb {
namespace {

template <jd::Core kCore>
class JdCpu final : public CpuAdapterMethod {
 public:
  explicit JdCpu(const Params& params) : o_(jd::options_of(params)) {}

  void prepare(const Problem& problem, ExecContext&) override {
    p_ = &static_cast<const AdapterProblem&>(problem);
    fit_ = jd::cached_fit(*p_, kCore, o_, &computed_here_);
    data_ = to_cpu(*p_);
    u_.clear(), v_.clear(), cores_.clear();
    for (const auto& f : fit_->projections) {
      u_.push_back(f.U.cast<float>());
      v_.push_back(f.V.cast<float>());
      std::vector<MatrixF> c;  // S_k^T, fp32, the form the run multiplies by
      for (std::size_t k = 0; k < static_cast<std::size_t>(p_->K); ++k) {
        if constexpr (kCore == jd::Core::full) c.push_back(f.cores[k].cast<float>().transpose());
        else c.push_back(f.sigma.row(static_cast<Eigen::Index>(k)).cast<float>().transpose().asDiagonal());
      }
      cores_.push_back(std::move(c));
    }
    allocate_outputs(*p_);
  }

  void run(ExecContext&) override {
    for (std::size_t i = 0; i < data_.size(); ++i) {
      z_.noalias() = data_[i].X * v_[i];  // batch x R, shared by every adapter
      if (p_->with_base) out_[i].noalias() = data_[i].X * data_[i].W.transpose();
      else out_[i].setZero();
      const AdapterBatch& b = p_->layout;
      for (std::size_t g = 0; g < b.segments(); ++g) {
        if (!b.has_adapter(g)) continue;
        const auto tokens = b.tokens(g);
        gather_rows(z_, tokens, zg_);
        yg_.noalias() = (zg_ * cores_[i][b.segment_adapter[g]]) * u_[i].transpose();
        for (std::size_t t = 0; t < tokens.size(); ++t) out_[i].row(tokens[t]) += yg_.row(static_cast<Eigen::Index>(t));
      }
    }
  }

  Footprint footprint() const override {
    Footprint f = jd::stored_bytes(*fit_);
    f.components["base_weights"] = footprint_of(data_, true);
    return f;
  }
  std::optional<Floor> floor(const Problem& problem) const override {
    return jd::floor(static_cast<const AdapterProblem&>(problem), kCore, o_.R);
  }
  Json metrics() const override { return jd::metrics(*fit_, computed_here_); }

 private:
  jd::Options o_;
  const AdapterProblem* p_ = nullptr;
  std::shared_ptr<const jd::Fit> fit_;
  bool computed_here_ = false;
  std::vector<CpuProjection> data_;
  std::vector<MatrixF> u_, v_;
  std::vector<std::vector<MatrixF>> cores_;  // [projection][adapter]: S_k^T
  MatrixF z_, zg_, yg_;
};

}  // namespace

// Lossy by design (a shared subspace of rank R for the population): the output error is a finding.
LRBENCH_DECLARE_METHOD(adapter_projection, "jd_full",
                       {.description = "Compress-then-Serve JD-Full (arXiv 2407.00066): shared orthonormal bases U, V "
                                       "per projection and a full R x R core per adapter; out = ((X V) S_k^T) U^T",
                        .params = jd::params(),
                        .traits = {.tolerance = MethodTraits::lossy, .compresses = true},
                        .supports = jd::supports});
LRBENCH_DECLARE_METHOD(adapter_projection, "jd_diag",
                       {.description = "Compress-then-Serve JD-Diag (arXiv 2407.00066): shared bases U, V per "
                                       "projection and a diagonal core per adapter; out = ((X V) diag(sigma_k)) U^T",
                        .params = jd::params(),
                        .traits = {.tolerance = MethodTraits::lossy, .compresses = true},
                        .supports = jd::supports});
LRBENCH_REGISTER_BACKEND("jd_full", cpu, JdCpu<jd::Core::full>);
LRBENCH_REGISTER_BACKEND("jd_diag", cpu, JdCpu<jd::Core::diag>);
}  // namespace lrb
