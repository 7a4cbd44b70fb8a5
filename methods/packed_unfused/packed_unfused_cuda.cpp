// packed_unfused, CUDA path: one tuned GEMM for gate's and up's input factors together (X read once), the two
// output-factor GEMMs reading their halves of Z in place, the SwiGLU kernel, down's two GEMMs; intermediates
// in stream-ordered scratch (transient memory).
#include "harness/registry.hpp"
#include "kernels/lowrank_ffn/swiglu.cuh"
#include "workloads/lowrank_ffn/device_data.hpp"

namespace lrb::cuda {
namespace {

class PackedUnfusedCuda final : public CudaLowrankFfnMethod {
 public:
  explicit PackedUnfusedCuda(const Params&) {}
  void prepare(const Problem& problem, ExecContext& ctx) override {
    bind(problem, ctx);
    const auto& p = *p_;
    rg_ = p.rank(LowrankFfnProblem::gate), ru_ = p.rank(LowrankFfnProblem::up), rd_ = p.rank(LowrankFfnProblem::down);
    packed_.upload(p, ctx_->stream());
    for (int k = 0; k < 3; ++k) us_[k] = upload_half(p.m[k].US, ctx_->stream());
    down_vt_ = upload_half(p.m[LowrankFfnProblem::down].Vt, ctx_->stream());
    DeviceBuffer<__half> z(z_elements()), g(dff_elements()), u(dff_elements());
    pass(true, z.data(), g.data(), u.data());
  }
  void run(ExecContext&) override {
    const cudaStream_t s = ctx_->stream();
    StreamBuffer<__half> z(z_elements(), s), g(dff_elements(), s), u(dff_elements(), s);
    pass(false, z.data(), g.data(), u.data());
  }
  Footprint transient() const override {
    return {{{"packed_z", 2 * z_elements()}, {"gate_act", 2 * dff_elements()}, {"up_act", 2 * dff_elements()}}};
  }
  Footprint footprint() const override {
    return {{{"factors", packed_.factor.bytes() + us_[0].bytes() + us_[1].bytes() + us_[2].bytes() + down_vt_.bytes()}}};
  }

 private:
  // Z [T x (r_g + r_u)] holds the packed GEMM's output and later down's [T x r_d] intermediate.
  std::size_t z_elements() const { return static_cast<std::size_t>(p_->tokens) * std::max(packed_.rz, rd_); }
  std::size_t dff_elements() const { return static_cast<std::size_t>(p_->tokens) * p_->d_ff; }
  void pass(bool plan, __half* z, __half* g, __half* u) {
    const int d = p_->d_model, dff = p_->d_ff, T = p_->tokens, rz = packed_.rz;
    linear(*ctx_, plan, packed_.factor.data(), rz, d, x_.data(), d, z, rz, T);
    linear(*ctx_, plan, us_[LowrankFfnProblem::gate].data(), dff, rg_, z, rz, g, dff, T);
    linear(*ctx_, plan, us_[LowrankFfnProblem::up].data(), dff, ru_, z + packed_.rg8, rz, u, dff, T);
    kernels::launch_swiglu(g, dff, u, dff, g, dff, T, dff, ctx_->stream());
    LRB_CUDA_CHECK_LAUNCH();
    linear(*ctx_, plan, down_vt_.data(), rd_, dff, g, dff, z, rd_, T);
    linear(*ctx_, plan, us_[LowrankFfnProblem::down].data(), d, rd_, z, rd_, y_.data(), d, T);
  }
  int rg_ = 0, ru_ = 0, rd_ = 0;
  PackedGateUp packed_;
  DeviceBuffer<__half> us_[3], down_vt_;
};

}  // namespace
LRBENCH_REGISTER_BACKEND("packed_unfused", cuda, PackedUnfusedCuda);
}  // namespace lrb::cuda
