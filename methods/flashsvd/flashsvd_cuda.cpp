// flashsvd, CUDA path. T <= 16 (decode): one launch of kernels/lowrank_linear/flashsvd.cu, Z = X Vt^T reduced
// in a small fp32 workspace in L2 and consumed by the same launch. T > 16 (prefill, ranks <= 1024): one launch
// of kernels/lowrank_linear/flashsvd_prefill.cu (v1; `prefill_kernel: v2`: flashsvd_prefill_v2.cu), each
// token tile's Z shared across a thread-block cluster's distributed shared memory; no workspace.
#include <stdexcept>
#include <string>

#include <fmt/format.h>

#include "harness/registry.hpp"
#include "kernels/lowrank_linear/flashsvd.cuh"
#include "kernels/lowrank_linear/flashsvd_prefill.cuh"
#include "workloads/lowrank_linear/device_data.hpp"

namespace lrb::cuda {
namespace {

namespace kk = kernels;

class FlashsvdCuda final : public CudaLowrankMethod {
 public:
  explicit FlashsvdCuda(const Params& p)
      : kernel_(p.string("decode_kernel") == "v3" ? kk::FlashsvdDecodeKernel::v3 : kk::FlashsvdDecodeKernel::v2),
        prefill_choice_(p.string("prefill_kernel")) {}

  Support can_run(const Point& point, Backend) const override {
    const Params pp = point.params();
    if (pp.integer("tokens") > kk::kFlashsvdDecodeMaxTokens && pp.has("rank") &&
        pp.integer("rank") > kk::kFlashsvdPrefillMaxRank)
      return Support::no(fmt::format("flashsvd's prefill kernel (tokens > {}) takes ranks up to {} (rank = {})",
                                     kk::kFlashsvdDecodeMaxTokens, kk::kFlashsvdPrefillMaxRank, pp.integer("rank")));
    return Support::yes();
  }

  void prepare(const Problem& problem, ExecContext& ctx) override {
    bind(problem, ctx);
    const cudaStream_t st = ctx_->stream();
    us_ = upload_half(p_->US, st);
    vt_ = upload_half(p_->Vt, st);
    prefill_ = p_->tokens > kk::kFlashsvdDecodeMaxTokens;
    // auto: v2 where it measured faster than v1 (ranks <= 128: 0.51-0.58x v1's time at r = 64 on the H100),
    // v1 above (v2 is 1.03-1.27x v1 at r >= 256 there); results/h100/flashsvd_prefill/.
    prefill_kernel_ = prefill_choice_ == "v2" || (prefill_choice_ == "auto" && p_->rank <= 128)
                          ? kk::FlashsvdPrefillKernel::v2
                          : kk::FlashsvdPrefillKernel::v1;
    if (prefill_) {
      if (!kk::flashsvd_prefill_supported(p_->d_in, p_->d_out, p_->rank, prefill_kernel_))
        throw std::runtime_error(fmt::format("flashsvd: the prefill kernel takes ranks up to {} (rank {})",
                                             kk::kFlashsvdPrefillMaxRank, p_->rank));
      kk::configure_flashsvd_prefill(p_->d_in, p_->d_out, p_->rank, prefill_kernel_);
      return;
    }
    if (!kk::flashsvd_decode_supported(p_->tokens, p_->d_in, p_->d_out, p_->rank, kernel_))
      throw std::runtime_error(fmt::format("flashsvd: the decode kernel does not take tokens {}, d_in {}, d_out {}, "
                                           "rank {} (shared memory for the staged intermediate)",
                                           p_->tokens, p_->d_in, p_->d_out, p_->rank));
    z_.allocate(kk::flashsvd_decode_z_floats(p_->rank, p_->tokens, kernel_));
    counters_.allocate(kk::kFlashsvdDecodeCounters);
    z_.zero(st);  // the kernel leaves both as it found them
    counters_.zero(st);
    grid_ = kk::configure_flashsvd_decode(p_->d_in, p_->d_out, p_->rank, kernel_);
    if (grid_ < 1) throw std::runtime_error("flashsvd: no block of the v3 decode kernel fits an SM");
  }
  void run(ExecContext&) override {
    if (prefill_) {
      kk::FlashsvdPrefillArgs a;
      a.X = x_.data(), a.Vt = vt_.data(), a.US = us_.data(), a.Y = y_.data();
      a.tokens = p_->tokens, a.d_in = p_->d_in, a.d_out = p_->d_out, a.rank = p_->rank;
      a.kernel = prefill_kernel_;
      kk::launch_flashsvd_prefill(a, ctx_->stream());
      LRB_CUDA_CHECK_LAUNCH();
      return;
    }
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
    if (prefill_) return {};  // Z lives in the clusters' shared memory only
    return {{{"rank_intermediate_in_l2", z_.bytes()}, {"arrival_counters", counters_.bytes()}}};
  }
  Footprint transient() const override { return workspace(); }
  Json metrics() const override {
    if (prefill_)
      return {{"kernel", prefill_kernel_ == kk::FlashsvdPrefillKernel::v2 ? "prefill_cluster_v2" : "prefill_cluster_v1"}};
    return {{"decode_kernel", kernel_ == kk::FlashsvdDecodeKernel::v3 ? "v3" : "v2"}, {"grid", grid_}};
  }

 private:
  DeviceBuffer<__half> us_, vt_;
  DeviceBuffer<float> z_;
  DeviceBuffer<unsigned> counters_;
  kk::FlashsvdDecodeKernel kernel_;
  std::string prefill_choice_;
  kk::FlashsvdPrefillKernel prefill_kernel_ = kk::FlashsvdPrefillKernel::v1;
  int grid_ = 0;
  bool prefill_ = false;
};

}  // namespace
LRBENCH_REGISTER_BACKEND("flashsvd", cuda, FlashsvdCuda);
}  // namespace lrb::cuda
