// flashsvd_ffn, CUDA path. T <= 16 (decode): one launch of kernels/lowrank_ffn/flashsvd_ffn.cu, never holding
// [T, d_ff]: the rank-r inputs [T, r_g + r_u] and down's input factor [T, r_d] reduced in small fp32
// workspaces in L2, each d_ff tile's h in shared memory. T > 16 is not built yet: such points are refused with
// that reason.
#include <stdexcept>

#include <fmt/format.h>

#include "harness/registry.hpp"
#include "kernels/lowrank_ffn/flashsvd_ffn.cuh"
#include "workloads/lowrank_ffn/device_data.hpp"

namespace lrb::cuda {
namespace {

namespace kk = kernels;

class FlashsvdFfnCuda final : public CudaLowrankFfnMethod {
 public:
  explicit FlashsvdFfnCuda(const Params& p) {
    a_.kernel = p.string("decode_kernel") == "v3" ? kk::FlashsvdFfnDecodeKernel::v3 : kk::FlashsvdFfnDecodeKernel::v2;
  }

  Support can_run(const Point& point, Backend) const override {
    const long long tokens = point.params().integer("tokens");
    if (tokens > kk::kFlashsvdFfnDecodeMaxTokens)
      return Support::no(fmt::format("flashsvd_ffn's CUDA path has its decode kernel only (tokens <= {}); the "
                                     "prefill kernel is not built yet (tokens = {})",
                                     kk::kFlashsvdFfnDecodeMaxTokens, tokens));
    return Support::yes();
  }

  void prepare(const Problem& problem, ExecContext& ctx) override {
    bind(problem, ctx);
    const auto& p = *p_;
    constexpr auto G = LowrankFfnProblem::gate, U = LowrankFfnProblem::up, D = LowrankFfnProblem::down;
    a_.tokens = p.tokens, a_.d_model = p.d_model, a_.d_ff = p.d_ff;
    a_.r_g = p.rank(G), a_.r_u = p.rank(U), a_.r_d = p.rank(D);
    if (!kk::flashsvd_ffn_decode_supported(a_))
      throw std::runtime_error(fmt::format("flashsvd_ffn: the decode kernel {} does not take tokens {}, d_model {}, "
                                           "d_ff {}, ranks {}/{}/{} (down's rank at most {}: P is held in registers; shared memory for "
                                           "the staged factors; v3: two ring stages beside the A and C tiles)",
                                           kernel_label(), p.tokens, p.d_model, p.d_ff, a_.r_g, a_.r_u, a_.r_d,
                                           kk::kFlashsvdFfnDecodeMaxDownRank));
    const cudaStream_t st = ctx_->stream();
    MatrixH packed(a_.r_g + a_.r_u, p.d_model);
    packed.topRows(a_.r_g) = p.m[G].Vt;
    packed.bottomRows(a_.r_u) = p.m[U].Vt;
    vt_gu_ = upload_half(packed, st);
    us_g_ = upload_half(p.m[G].US, st), us_u_ = upload_half(p.m[U].US, st);
    vt_d_ = upload_half(p.m[D].Vt, st), us_d_ = upload_half(p.m[D].US, st);
    z_.allocate(kk::flashsvd_ffn_decode_z_floats(a_.r_g, a_.r_u, p.tokens, a_.kernel));
    p_ws_.allocate(kk::flashsvd_ffn_decode_p_floats(a_.r_d, p.tokens, a_.kernel));
    counters_.allocate(kk::kFlashsvdFfnDecodeCounters);
    z_.zero(st), p_ws_.zero(st), counters_.zero(st);  // the kernel leaves them as it found them
    a_.grid = kk::configure_flashsvd_ffn_decode(a_);
    if (a_.grid < 1) throw std::runtime_error("flashsvd_ffn: no block of the v3 decode kernel fits an SM");
    a_.X = x_.data(), a_.Vt_gu = vt_gu_.data(), a_.US_g = us_g_.data(), a_.US_u = us_u_.data();
    a_.Vt_d = vt_d_.data(), a_.US_d = us_d_.data(), a_.Y = y_.data();
    a_.Z = z_.data(), a_.P = p_ws_.data(), a_.counters = counters_.data();
  }
  void run(ExecContext&) override {
    kk::launch_flashsvd_ffn_decode(a_, ctx_->stream());
    LRB_CUDA_CHECK_LAUNCH();
  }
  Footprint footprint() const override {
    return {{{"factors", vt_gu_.bytes() + us_g_.bytes() + us_u_.bytes() + vt_d_.bytes() + us_d_.bytes()}}};
  }
  // Z^T and P^T live in resident workspaces (allocated once, left zero by each launch): the memory pass
  // charges them to the run's transient bytes, as the unfused methods' per-run [T, d_ff] buffers are charged.
  // No [T, d_ff] anywhere.
  Footprint workspace() const override {
    return {{{"rank_inputs_in_l2", z_.bytes()}, {"down_input_factor_in_l2", p_ws_.bytes()},
             {"arrival_counters", counters_.bytes()}}};
  }
  Footprint transient() const override { return workspace(); }
  Json metrics() const override { return {{"decode_kernel", kernel_label()}, {"grid", a_.grid}}; }

 private:
  const char* kernel_label() const { return a_.kernel == kk::FlashsvdFfnDecodeKernel::v3 ? "v3" : "v2"; }
  kk::FlashsvdFfnDecodeArgs a_;
  DeviceBuffer<__half> vt_gu_, us_g_, us_u_, vt_d_, us_d_;
  DeviceBuffer<float> z_, p_ws_;
  DeviceBuffer<unsigned> counters_;
};

}  // namespace
LRBENCH_REGISTER_BACKEND("flashsvd_ffn", cuda, FlashsvdFfnCuda);
}  // namespace lrb::cuda
