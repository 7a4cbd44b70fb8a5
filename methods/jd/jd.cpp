// jd_full and jd_diag (Compress-then-Serve, arXiv 2407.00066; methods/jd/jd_fit.hpp), CPU paths (Eigen,
// fp32): per projection Z = X V once for the batch, then per adapter group Y_t += (Z_t S_k^T) U^T (JD-Full:
// S_k a full R x R core; JD-Diag: S_k = diag(sigma_k)), plus X W^T in base+adapter mode. The fit runs in
// prepare (untimed, metrics.encode_s) and is shared by prepared copies and points with the same adapters.
// No CUDA path yet: on the GPU such records are skipped with that reason.
#include <algorithm>

#include <fmt/format.h>

#include "harness/registry.hpp"
#include "methods/jd/jd_fit.hpp"
#include "workloads/adapter_projection/cpu_helpers.hpp"
#include "workloads/adapter_projection/method_base.hpp"

namespace lrb {
namespace {

jd::Options options_of(const Params& p) {
  jd::Options o;
  o.R = static_cast<int>(p.integer("shared_rank"));
  o.iterations = static_cast<int>(p.integer("iterations"));
  return o;
}

template <jd::Core kCore>
class JdCpu final : public CpuAdapterMethod {
 public:
  explicit JdCpu(const Params& params) : o_(options_of(params)) {}

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
  // Compulsory traffic: X, V and U (fp16), the batch's distinct adapters' cores, Y (and W), each once.
  std::optional<Floor> floor(const Problem& problem) const override {
    const auto& p = static_cast<const AdapterProblem&>(problem);
    Floor f;
    const double core = kCore == jd::Core::full ? static_cast<double>(o_.R) * o_.R : o_.R;
    const double distinct = static_cast<double>(p.layout.segments());
    for (const auto& proj : p.projections) {
      const double din = proj.d_in, dout = proj.d_out;
      f.bytes += fp16_bytes(p.batch, din + dout) + fp16_bytes(din + dout, o_.R) + distinct * 2 * core;
      f.flops += 2.0 * p.batch * (o_.R * (din + dout) + core);
      if (p.with_base) {
        f.bytes += fp16_bytes(dout, din);
        f.flops += 2.0 * p.batch * din * dout;
      }
      f.write_bytes += fp16_bytes(p.batch, dout);
    }
    f.note = fmt::format("jd_{}: X, U and V (fp16), the distinct adapters' cores, Y{}, each once", jd::to_string(kCore),
                         p.with_base ? ", base weights" : "");
    return f;
  }
  Json metrics() const override {
    return {{"fit", fit_->stats}, {"encode_s", fit_->encode_s}, {"fit_shared", !computed_here_}};
  }

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

ParamSpecs jd_params() {
  return {{"shared_rank", ParamType::integer, 16, "R, columns of the shared bases U and V", 1.0, 4096.0, {}},
          {"iterations", ParamType::integer, 50, "alternations of the fit at most (it stops earlier once the "
                                                 "objective changes by < 1e-9 of the population's energy)",
           1.0, 10000.0, {}}};
}

// R <= min(d_in, d_out) of every projection (the overrides, else the model's shapes).
Support jd_supports(const Point& point, const Params& p) {
  const Params pp = point.params();
  const long long R = p.integer("shared_rank");
  const ModelShape* model = Registry::instance().model(pp.string("model"));
  for (const auto& name : pp.string_list("projections")) {
    const ProjectionShape* shape = model ? model->projection(name) : nullptr;
    const long long d_in = pp.integer("d_in") > 0 ? pp.integer("d_in") : (shape ? shape->d_in : R);
    const long long d_out = pp.integer("d_out") > 0 ? pp.integer("d_out") : (shape ? shape->d_out : R);
    if (R > std::min(d_in, d_out))
      return Support::no(fmt::format("shared_rank {} exceeds {}'s min(d_in, d_out) = {}", R, name, std::min(d_in, d_out)));
  }
  return Support::yes();
}

}  // namespace

// Lossy by design (a shared subspace of rank R for the population): the output error is a finding.
LRBENCH_DECLARE_METHOD(adapter_projection, "jd_full",
                       {.description = "Compress-then-Serve JD-Full (arXiv 2407.00066): shared orthonormal bases U, V "
                                       "per projection and a full R x R core per adapter; out = ((X V) S_k^T) U^T",
                        .params = jd_params(),
                        .traits = {.tolerance = MethodTraits::lossy, .compresses = true},
                        .supports = jd_supports});
LRBENCH_DECLARE_METHOD(adapter_projection, "jd_diag",
                       {.description = "Compress-then-Serve JD-Diag (arXiv 2407.00066): shared bases U, V per "
                                       "projection and a diagonal core per adapter; out = ((X V) diag(sigma_k)) U^T",
                        .params = jd_params(),
                        .traits = {.tolerance = MethodTraits::lossy, .compresses = true},
                        .supports = jd_supports});
LRBENCH_REGISTER_BACKEND("jd_full", cpu, JdCpu<jd::Core::full>);
LRBENCH_REGISTER_BACKEND("jd_diag", cpu, JdCpu<jd::Core::diag>);
}  // namespace lrb
