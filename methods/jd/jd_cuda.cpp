// jd_full / jd_diag, CUDA path (v1; docs: methods/jd/jd_fit.hpp): per pass, over all projections at once,
//   base:   Y = X W^T            (one cuBLAS grouped GEMM; base+adapter mode only)
//   shrink: Z = X V              (one grouped GEMM: X read once for the batch, whatever its adapters)
//   core:   Zc[t] = S_k Z[t]     (kernels/adapter_projection/jd_core.cu: each token's own adapter's core)
//   expand: Y (+)= Zc U^T        (one grouped GEMM, accumulating onto the base output)
// Z and Zc are fp16 (the GEMMs' operands), as sequential_lora's rank intermediate is.
#include "harness/cuda/check.hpp"
#include "harness/registry.hpp"
#include "kernels/adapter_projection/jd_core.cuh"
#include "methods/jd/jd_method.hpp"
#include "workloads/adapter_projection/device_data.hpp"

namespace lrb::cuda {
namespace {

template <jd::Core kCore>
class JdCuda final : public CudaAdapterMethod {
 public:
  explicit JdCuda(const Params& params) : o_(jd::options_of(params)) {}

  void prepare(const Problem& problem, ExecContext& ctx) override {
    bind(problem, ctx);
    fit_ = jd::cached_fit(*p_, kCore, o_, &computed_here_);
    const cudaStream_t st = ctx_->stream();
    batch_.upload(p_->layout, st);
    proj_.clear();
    std::vector<kernels::JdCoreArgs> args;
    std::vector<GemmProblem> base, shrink, expand;
    const int R = o_.R, T = p_->batch;
    for (std::size_t i = 0; i < p_->projections.size(); ++i) {
      const auto& pp = p_->projections[i];
      const auto& f = fit_->projections[i];
      Projection d;
      if (p_->with_base) d.W = upload_half(pp.W, st);
      d.X = upload_half(pp.X, st);
      d.Vt = upload_half(MatrixH(f.V.transpose()), st);  // R x d_in: the shrink's row-major A
      d.U = upload_half(f.U, st);                        // d_out x R: the expand's row-major A
      if constexpr (kCore == jd::Core::full) {
        std::vector<Half> cores;
        for (const auto& c : f.cores) {
          const MatrixH row_major = c;  // S_k, row j = output j (MatrixH is row-major)
          cores.insert(cores.end(), row_major.data(), row_major.data() + row_major.size());
        }
        d.cores.upload(as_device_half(cores.data()), cores.size(), st);
        ctx_->synchronize();  // the staging vector goes out of scope
      } else {
        d.cores = upload_half(f.sigma, st);  // K x R
      }
      d.Z.allocate(static_cast<std::size_t>(T) * R);
      d.Zc.allocate(static_cast<std::size_t>(T) * R);
      zero_workspaces({&d.Z, &d.Zc}, st);
      args.push_back({d.Z.data(), d.Zc.data(), d.cores.data()});
      if (p_->with_base)
        base.push_back({pp.d_out, T, pp.d_in, d.W.data(), pp.d_in, d.X.data(), pp.d_in, y_[i].data(), pp.d_out, 1.0f, 0.0f});
      shrink.push_back({R, T, pp.d_in, d.Vt.data(), pp.d_in, d.X.data(), pp.d_in, d.Z.data(), R, 1.0f, 0.0f});
      expand.push_back({pp.d_out, T, R, d.U.data(), R, d.Zc.data(), R, y_[i].data(), pp.d_out, 1.0f,
                        p_->with_base ? 1.0f : 0.0f});
      proj_.push_back(std::move(d));
    }
    if (p_->with_base) base_.plan(base, *ctx_);
    shrink_.plan(shrink, *ctx_);
    expand_.plan(expand, *ctx_);
    args_.upload(args.data(), args.size(), st);
    ctx_->synchronize();
  }

  void run(ExecContext&) override {
    if (p_->with_base) base_.run(*ctx_);
    shrink_.run(*ctx_);
    kernels::launch_jd_core(args_.data(), static_cast<int>(proj_.size()), batch_.token_adapter.data(), p_->batch, o_.R,
                            kCore == jd::Core::diag, ctx_->stream());
    LRB_CUDA_CHECK_LAUNCH();
    expand_.run(*ctx_);
  }

  Footprint footprint() const override {
    Footprint f;
    for (const auto& d : proj_) {
      f.components["base_weights"] += d.W.bytes();
      f.components["shared_bases"] += d.Vt.bytes() + d.U.bytes();
      f.components["cores"] += d.cores.bytes();
      f.components["workspace"] += d.Z.bytes() + d.Zc.bytes();
    }
    return f;
  }
  std::optional<Floor> floor(const Problem& problem) const override {
    return jd::floor(static_cast<const AdapterProblem&>(problem), kCore, o_.R);
  }
  Json metrics() const override {
    Json m = jd::metrics(*fit_, computed_here_);
    m["cuda_pass"] = "grouped base GEMM, grouped X V, per-token core kernel, grouped (Z S^T) U^T";
    return m;
  }

 private:
  struct Projection {
    DeviceBuffer<__half> W, X, Vt, U, cores, Z, Zc;
  };
  jd::Options o_;
  std::shared_ptr<const jd::Fit> fit_;
  bool computed_here_ = false;
  std::vector<Projection> proj_;
  DeviceAdapterBatch batch_;
  DeviceBuffer<kernels::JdCoreArgs> args_;
  GroupedGemm base_, shrink_, expand_;
};

}  // namespace
LRBENCH_REGISTER_BACKEND("jd_full", cuda, JdCuda<jd::Core::full>);
LRBENCH_REGISTER_BACKEND("jd_diag", cuda, JdCuda<jd::Core::diag>);
}  // namespace lrb::cuda
