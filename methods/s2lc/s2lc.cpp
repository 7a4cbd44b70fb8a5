// s2lc, CPU path (Eigen, fp32): T = X V_common per projection, then per adapter group U_k decoded from
// its stored layout and Y_t += T_t U_k^T for the group's tokens (plus X W^T in base+adapter mode).
// Declared here for both paths. The encoder runs in prepare (untimed, its time in metrics.encode_s) and
// is shared by all variants.
#include "harness/registry.hpp"
#include "methods/s2lc/s2lc_method.hpp"
#include "workloads/adapter_projection/cpu_helpers.hpp"
#include "workloads/adapter_projection/method_base.hpp"

namespace lrb {
namespace {

class S2lcCpu final : public CpuAdapterMethod {
 public:
  explicit S2lcCpu(const Params& params) : s_(params) {}

  void prepare(const Problem& problem, ExecContext&) override {
    p_ = &static_cast<const AdapterProblem&>(problem);
    enc_ = s2lc::cached_encoding(*p_, s_.R, &computed_here_);
    data_ = to_cpu(*p_);
    v_.clear();
    for (const auto& e : enc_->projections) v_.push_back(e.V.cast<float>());
    allocate_outputs(*p_);
  }

  void run(ExecContext&) override {
    for (std::size_t i = 0; i < data_.size(); ++i) {
      const auto& e = enc_->projections[i];
      t_.noalias() = data_[i].X * v_[i];  // batch x R, shared by every adapter
      if (p_->with_base) out_[i].noalias() = data_[i].X * data_[i].W.transpose();
      else out_[i].setZero();
      const AdapterBatch& b = p_->layout;
      for (std::size_t g = 0; g < b.segments(); ++g) {
        if (!b.has_adapter(g)) continue;
        const MatrixF U = s2lc::decode_adapter(e.adapters[b.segment_adapter[g]], s_.layout, e.d_out, e.R);
        for (int t : b.tokens(g)) out_[i].row(t).noalias() += t_.row(t) * U.transpose();
      }
    }
  }

  Footprint footprint() const override {
    Footprint f = s2lc::stored_bytes(*enc_, s_.layout);
    f.components["base_weights"] = footprint_of(data_, true);
    return f;
  }
  std::optional<Floor> floor(const Problem& problem) const override {
    return s2lc::floor(static_cast<const AdapterProblem&>(problem), *enc_, s_.layout);
  }
  Json metrics() const override { return s2lc::metrics(*enc_, s_.layout, computed_here_); }

 private:
  s2lc::Settings s_;
  const AdapterProblem* p_ = nullptr;
  std::shared_ptr<const s2lc::Encoding> enc_;
  bool computed_here_ = false;
  std::vector<CpuProjection> data_;
  std::vector<MatrixF> v_;
  MatrixF t_;
};

}  // namespace

LRBENCH_DECLARE_METHOD(adapter_projection, "s2lc",
                       {.description = s2lc::description(),
                        .params = s2lc::params(),
                        // Lossy by design: its output error is a finding, reported in fidelity, not a failure.
                        .traits = {.tolerance = MethodTraits::lossy, .compresses = true},
                        .supports = [](const Point& point, const Params& p) {
                          return s2lc::can_run(s2lc::Settings(p), point);
                        }});
LRBENCH_REGISTER_BACKEND("s2lc", cpu, S2lcCpu);
}  // namespace lrb
