// flashsvd, CUDA path. T <= 16 (decode): one launch of kernels/lowrank_linear/flashsvd.cu, Z = X Vt^T reduced
// in a small fp32 workspace in L2 and consumed by the same launch. T > 16 (prefill: Z tiles shared across a
// thread-block cluster) is not built yet: such points are refused with that reason.
#include <stdexcept>

#include <fmt/format.h>

#include "harness/registry.hpp"
#include "kernels/lowrank_linear/flashsvd.cuh"
#include "workloads/lowrank_linear/device_data.hpp"

namespace lrb::cuda {
namespace {

namespace kk = kernels;

class FlashsvdCuda final : public CudaLowrankMethod {
 public:
  explicit FlashsvdCuda(const Params& p)
      : kernel_(p.string("decode_kernel") == "v3" ? kk::FlashsvdDecodeKernel::v3 : kk::FlashsvdDecodeKernel::v2) {}

  Support can_run(const Point& point, Backend) const override {
    const long long tokens = point.params().integer("tokens");
    if (tokens > kk::kFlashsvdDecodeMaxTokens)
      return Support::no(fmt::format("flashsvd's CUDA path has its decode kernel only (tokens <= {}); the prefill "
                                     "kernel is not built yet (tokens = {})",
                                     kk::kFlashsvdDecodeMaxTokens, tokens));
    return Support::yes();
  }

  void prepare(const Problem& problem, ExecContext& ctx) override {
    bind(problem, ctx);
    if (!kk::flashsvd_decode_supported(p_->tokens, p_->d_in, p_->d_out, p_->rank, kernel_))
      throw std::runtime_error(fmt::format("flashsvd: the decode kernel does not take tokens {}, d_in {}, d_out {}, "
                                           "rank {} (shared memory for the staged intermediate)",
                                           p_->tokens, p_->d_in, p_->d_out, p_->rank));
    const cudaStream_t st = ctx_->stream();
    us_ = upload_half(p_->US, st);
    vt_ = upload_half(p_->Vt, st);
    z_.allocate(kk::flashsvd_decode_z_floats(p_->rank, p_->tokens, kernel_));
    counters_.allocate(kk::kFlashsvdDecodeCounters);
    z_.zero(st);  // the kernel leaves both as it found them
    counters_.zero(st);
    grid_ = kk::configure_flashsvd_decode(p_->d_in, p_->d_out, p_->rank, kernel_);
    if (grid_ < 1) throw std::runtime_error("flashsvd: no block of the v3 decode kernel fits an SM");
  }
  void run(ExecContext&) override {
    kk::FlashsvdDecodeArgs a;
    a.X = x_.data(), a.Vt = vt_.data(), a.US = us_.data(), a.Y = y_.data(), a.Z = z_.data();
    a.counters = counters_.data();
    a.tokens = p_->tokens, a.d_in = p_->d_in, a.d_out = p_->d_out, a.rank = p_->rank;
    a.kernel = kernel_, a.grid = grid_;
    kk::launch_flashsvd_decode(a, ctx_->stream());
    LRB_CUDA_CHECK_LAUNCH();
  }
  Footprint footprint() const override { return {{{"factors", us_.bytes() + vt_.bytes()}}}; }
  // Z^T lives in a resident workspace (allocated once, left zero by each launch): the memory pass charges it
  // to the run's transient bytes, as two_gemm's per-run intermediate is charged.
  Footprint workspace() const override {
    return {{{"rank_intermediate_in_l2", z_.bytes()}, {"arrival_counters", counters_.bytes()}}};
  }
  Footprint transient() const override { return workspace(); }
  Json metrics() const override {
    return {{"decode_kernel", kernel_ == kk::FlashsvdDecodeKernel::v3 ? "v3" : "v2"}, {"grid", grid_}};
  }

 private:
  DeviceBuffer<__half> us_, vt_;
  DeviceBuffer<float> z_;
  DeviceBuffer<unsigned> counters_;
  kk::FlashsvdDecodeKernel kernel_;
  int grid_ = 0;
};

}  // namespace
LRBENCH_REGISTER_BACKEND("flashsvd", cuda, FlashsvdCuda);
}  // namespace lrb::cuda
