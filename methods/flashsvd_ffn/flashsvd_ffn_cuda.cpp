// flashsvd_ffn, CUDA path, never holding [T, d_ff].
// T <= 16 (decode): one launch of kernels/lowrank_ffn/flashsvd_ffn.cu: the rank-r inputs [T, r_g + r_u] and
// down's input factor [T, r_d] reduced in small fp32 workspaces in L2, each d_ff tile's h in shared memory.
// T > 16 (prefill, ranks <= 256): Z = X [Vt_g; Vt_u]^T by one tuned GEMM, the fused middle
// (kernels/lowrank_ffn/flashsvd_ffn_prefill.cu) adds P = h Vt_d^T into fp32 [T, r_d] tile by tile, P rounded
// to fp16, Y = P US_d^T by one tuned GEMM; Z, P and its fp16 copy are stream-ordered scratch (transient).
#include <stdexcept>

#include <fmt/format.h>

#include "harness/registry.hpp"
#include "kernels/lowrank_ffn/flashsvd_ffn.cuh"
#include "kernels/lowrank_ffn/flashsvd_ffn_prefill.cuh"
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
    const Params pp = point.params();
    if (pp.integer("tokens") <= kk::kFlashsvdFfnDecodeMaxTokens) return Support::yes();
    for (const char* key : {"rank", "rank_gate", "rank_up", "rank_down"})
      if (pp.has(key) && pp.integer(key) > kk::kFlashsvdFfnPrefillMaxRank)
        return Support::no(fmt::format("flashsvd_ffn's prefill kernel (tokens > {}) takes ranks up to {} (P held in "
                                       "registers, the rank inputs in shared memory); {} = {}",
                                       kk::kFlashsvdFfnDecodeMaxTokens, kk::kFlashsvdFfnPrefillMaxRank, key,
                                       pp.integer(key)));
    return Support::yes();
  }

  void prepare(const Problem& problem, ExecContext& ctx) override {
    bind(problem, ctx);
    const auto& p = *p_;
    constexpr auto G = LowrankFfnProblem::gate, U = LowrankFfnProblem::up, D = LowrankFfnProblem::down;
    a_.tokens = p.tokens, a_.d_model = p.d_model, a_.d_ff = p.d_ff;
    a_.r_g = p.rank(G), a_.r_u = p.rank(U), a_.r_d = p.rank(D);
    prefill_ = p.tokens > kk::kFlashsvdFfnDecodeMaxTokens;
    const cudaStream_t st = ctx_->stream();
    us_g_ = upload_half(p.m[G].US, st), us_u_ = upload_half(p.m[U].US, st);
    vt_d_ = upload_half(p.m[D].Vt, st), us_d_ = upload_half(p.m[D].US, st);
    if (prefill_) return prepare_prefill();
    if (!kk::flashsvd_ffn_decode_supported(a_))
      throw std::runtime_error(fmt::format("flashsvd_ffn: the decode kernel {} does not take tokens {}, d_model {}, "
                                           "d_ff {}, ranks {}/{}/{} (down's rank at most {}: P is held in registers; shared memory for "
                                           "the staged factors; v3: two ring stages beside the A and C tiles)",
                                           kernel_label(), p.tokens, p.d_model, p.d_ff, a_.r_g, a_.r_u, a_.r_d,
                                           kk::kFlashsvdFfnDecodeMaxDownRank));
    MatrixH packed(a_.r_g + a_.r_u, p.d_model);
    packed.topRows(a_.r_g) = p.m[G].Vt;
    packed.bottomRows(a_.r_u) = p.m[U].Vt;
    vt_gu_ = upload_half(packed, st);
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
    if (prefill_) {
      const cudaStream_t st = ctx_->stream();
      StreamBuffer<__half> z(z_elements(), st), p16(p16_elements(), st);
      StreamBuffer<float> p32(p32_elements(), st);
      return prefill_pass(false, z.data(), p32.data(), p16.data());
    }
    kk::launch_flashsvd_ffn_decode(a_, ctx_->stream());
    LRB_CUDA_CHECK_LAUNCH();
  }
  Footprint footprint() const override {
    return {{{"factors", vt_gu_.bytes() + packed_.factor.bytes() + us_g_.bytes() + us_u_.bytes() + vt_d_.bytes() +
                             us_d_.bytes()}}};
  }
  // Z^T and P^T live in resident workspaces (allocated once, left zero by each launch): the memory pass
  // charges them to the run's transient bytes, as the unfused methods' per-run [T, d_ff] buffers are charged.
  // No [T, d_ff] anywhere.
  Footprint workspace() const override {
    if (prefill_) return {};
    return {{{"rank_inputs_in_l2", z_.bytes()}, {"down_input_factor_in_l2", p_ws_.bytes()},
             {"arrival_counters", counters_.bytes()}}};
  }
  Footprint transient() const override {
    if (!prefill_) return workspace();
    return {{{"rank_inputs", 2 * z_elements()}, {"down_input_factor_fp32", 4 * p32_elements()},
             {"down_input_factor_fp16", 2 * p16_elements()}}};
  }
  Json metrics() const override {
    if (prefill_) return {{"kernel", "prefill_v1"}};
    return {{"decode_kernel", kernel_label()}, {"grid", a_.grid}};
  }

 private:
  // Prefill: gate's and up's input factors packed as packed_unfused packs them (one GEMM for both).
  void prepare_prefill() {
    if (!kk::flashsvd_ffn_prefill_supported(a_.r_g, a_.r_u, a_.r_d))
      throw std::runtime_error(fmt::format("flashsvd_ffn: the prefill kernel takes ranks up to {} (ranks {}/{}/{})",
                                           kk::kFlashsvdFfnPrefillMaxRank, a_.r_g, a_.r_u, a_.r_d));
    packed_.upload(*p_, ctx_->stream());
    rd8_ = (a_.r_d + 7) / 8 * 8;
    DeviceBuffer<__half> z(z_elements()), p16(p16_elements());
    DeviceBuffer<float> p32(p32_elements());
    p16.zero(ctx_->stream());  // the second GEMM is tuned reading it
    kk::configure_flashsvd_ffn_prefill(prefill_args(z.data(), p32.data()));
    prefill_pass(true, z.data(), p32.data(), p16.data());
  }
  kk::FlashsvdFfnPrefillArgs prefill_args(const __half* z, float* p32) const {
    kk::FlashsvdFfnPrefillArgs a;
    a.Zg = z, a.Zu = z + packed_.rg8, a.ld_z = packed_.rz;
    a.US_g = us_g_.data(), a.US_u = us_u_.data(), a.Vt_d = vt_d_.data(), a.P = p32;
    a.tokens = a_.tokens, a.d_ff = a_.d_ff, a.r_g = a_.r_g, a.r_u = a_.r_u, a.r_d = a_.r_d;
    return a;
  }
  // `plan`: tune the two GEMMs on these buffers (prepare) instead of running the pass.
  void prefill_pass(bool plan, __half* z, float* p32, __half* p16) {
    const int d = a_.d_model, T = a_.tokens;
    const cudaStream_t st = ctx_->stream();
    linear(*ctx_, plan, packed_.factor.data(), packed_.rz, d, x_.data(), d, z, packed_.rz, T);
    if (!plan) {
      LRB_CUDA_CHECK(cudaMemsetAsync(p32, 0, 4 * p32_elements(), st));
      kk::launch_flashsvd_ffn_prefill(prefill_args(z, p32), st);
      LRB_CUDA_CHECK_LAUNCH();
      kk::launch_round_rows_to_half(p32, T, a_.r_d, p16, rd8_, st);
      LRB_CUDA_CHECK_LAUNCH();
    }
    linear(*ctx_, plan, us_d_.data(), d, a_.r_d, p16, rd8_, y_.data(), d, T);
  }
  std::size_t z_elements() const { return static_cast<std::size_t>(a_.tokens) * packed_.rz; }
  std::size_t p32_elements() const { return static_cast<std::size_t>(a_.tokens) * a_.r_d; }
  std::size_t p16_elements() const { return static_cast<std::size_t>(a_.tokens) * rd8_; }

  const char* kernel_label() const { return a_.kernel == kk::FlashsvdFfnDecodeKernel::v3 ? "v3" : "v2"; }
  kk::FlashsvdFfnDecodeArgs a_;
  bool prefill_ = false;
  int rd8_ = 0;  // P16's row length: r_d rounded to 8 (aligned GEMM operand)
  PackedGateUp packed_;  // prefill's input factor (decode: vt_gu_, unpadded)
  DeviceBuffer<__half> vt_gu_, us_g_, us_u_, vt_d_, us_d_;
  DeviceBuffer<float> z_, p_ws_;
  DeviceBuffer<unsigned> counters_;
};

}  // namespace
LRBENCH_REGISTER_BACKEND("flashsvd_ffn", cuda, FlashsvdFfnCuda);
}  // namespace lrb::cuda
