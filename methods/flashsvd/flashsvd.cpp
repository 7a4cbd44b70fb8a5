// flashsvd: Y = (X V_r) (U_r S_r)^T streamed over tiles of 16 tokens, each tile's rank-r intermediate
// computed and consumed before the next (the fused kernels' order of work; on the CPU the tile lives in
// cache). The math is two_gemm's: fp32 products of the same factors; only the live intermediate differs
// (16 x r instead of T x r), which the memory pass measures.
#include <algorithm>

#include "harness/registry.hpp"
#include "workloads/lowrank_linear/method_base.hpp"

namespace lrb {
namespace {

constexpr int kTileTokens = 16;

class FlashsvdCpu final : public CpuLowrankFactorsMethod {
 public:
  explicit FlashsvdCpu(const Params&) {}

  void run(ExecContext&) override {
    MatrixF z(std::min<Eigen::Index>(kTileTokens, X_.rows()), Vt_.rows());  // the one live intermediate
    for (Eigen::Index t0 = 0; t0 < X_.rows(); t0 += kTileTokens) {
      const Eigen::Index n = std::min<Eigen::Index>(kTileTokens, X_.rows() - t0);
      z.topRows(n).noalias() = X_.middleRows(t0, n) * Vt_.transpose();
      out_.middleRows(t0, n).noalias() = z.topRows(n) * US_.transpose();
    }
  }
  Footprint transient() const override {
    return {{{"rank_tile", 4ull * std::min<Eigen::Index>(kTileTokens, X_.rows()) * Vt_.rows()}}};
  }
};

}  // namespace

LRBENCH_DECLARE_METHOD(lowrank_linear, "flashsvd",
                       {.description = "FlashSVD-style fused low-rank linear: the rank-r intermediate of each token "
                                       "tile stays on chip (CUDA: one launch at T <= 16; CPU: 16-token tiles)",
                        .params = {{"decode_kernel", ParamType::string, "v2",
                                    "CUDA path only: the decode kernel's version, v2 (one role a block) or v3 (both "
                                    "roles a block, cooperative grid); docs/perf/flashsvd.md",
                                    {}, {}, {"v2", "v3"}},
                                   {"prefill_kernel", ParamType::string, "auto",
                                    "CUDA path only: the prefill kernel's version (T > 16), v1 (phase 1 split over the "
                                    "rank), v2 (split over d_in, reduced through distributed shared memory, "
                                    "multi-stage pipelines) or auto (v2 at ranks <= 128, v1 above: the faster of the "
                                    "two as measured); docs/perf/flashsvd.md",
                                    {}, {}, {"auto", "v1", "v2"}}}});
LRBENCH_REGISTER_BACKEND("flashsvd", cpu, FlashsvdCpu);
}  // namespace lrb
