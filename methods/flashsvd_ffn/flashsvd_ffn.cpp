// flashsvd_ffn, CPU path: the fused low-rank SwiGLU FFN's order of work, never materializing [T, d_ff]:
//   Zg = X Vt_g^T, Zu = X Vt_u^T (the rank-r input projections, [T, r] each);
//   over tiles of d_ff columns (T x width <= 16 Ki elements, width >= 256): g = Zg US_g[tile]^T, u = Zu US_u[tile]^T, h = silu(g) * u, and down's
//   input factor P += h Vt_d[:, tile]^T (fp32, [T, r_d]); each tile's g, u, h are dropped before the next;
//   then Y = P US_d^T.
// Same float math as unfused_lowrank, summed over d_ff in tiles (so results differ from it in rounding only).
// The measured transient (host heap high-water mark) is what the fused order costs on the CPU. The CUDA path
// (flashsvd_ffn_cuda.cpp) is one launch at T <= 16.
#include <algorithm>

#include "harness/registry.hpp"
#include "workloads/lowrank_ffn/method_base.hpp"

namespace lrb {
namespace {

// A tile of g or u holds at most 16 Ki floats (64 KiB, L2-sized), 256 to 2048 columns: few tiles at decode
// sizes (16 tokens: 1024 columns; 43 tiles of 256 made T = 16 about twice as slow as unfused_lowrank here),
// 256-column tiles from 64 tokens up; small enough that the tiles stay under a fifth of unfused's [T, d_ff]
// activations on Llama-2-7B's d_ff at every T.
constexpr Eigen::Index kTileElements = Eigen::Index{1} << 14, kMinTileFf = 256, kMaxTileFf = 2048;
Eigen::Index tile_width(Eigen::Index tokens, Eigen::Index d_ff) {
  return std::min(d_ff, std::clamp(kTileElements / std::max<Eigen::Index>(tokens, 1), kMinTileFf, kMaxTileFf));
}

class FlashsvdFfnCpu final : public CpuLowrankFfnFactorsMethod {
 public:
  explicit FlashsvdFfnCpu(const Params&) {}

  void run(ExecContext&) override {
    constexpr int G = LowrankFfnProblem::gate, U = LowrankFfnProblem::up, D = LowrankFfnProblem::down;
    const MatrixF zg = X_ * Vt_[G].transpose(), zu = X_ * Vt_[U].transpose();
    MatrixF P = MatrixF::Zero(X_.rows(), Vt_[D].rows());
    const Eigen::Index d_ff = US_[G].rows(), w = tile_width(X_.rows(), d_ff);
    MatrixF g(X_.rows(), w), u(X_.rows(), w);
    for (Eigen::Index f0 = 0; f0 < d_ff; f0 += w) {
      const Eigen::Index n = std::min(w, d_ff - f0);
      g.leftCols(n).noalias() = zg * US_[G].middleRows(f0, n).transpose();
      u.leftCols(n).noalias() = zu * US_[U].middleRows(f0, n).transpose();
      for (Eigen::Index j = 0; j < n; ++j)
        for (Eigen::Index i = 0; i < g.rows(); ++i) g(i, j) = swiglu::gated(g(i, j), u(i, j));
      P.noalias() += g.leftCols(n) * Vt_[D].middleCols(f0, n).transpose();
    }
    out_.noalias() = P * US_[D].transpose();
  }
  // Live at once in the d_ff loop: Zg, Zu, P and one tile of g and u.
  Footprint transient() const override {
    const std::uint64_t T = X_.rows(), w = tile_width(X_.rows(), US_[0].rows());
    return {{{"rank_inputs", 4 * T * (Vt_[0].rows() + Vt_[1].rows())},
             {"down_input_factor", 4 * T * Vt_[2].rows()},
             {"ff_tile", 2 * 4 * T * w}}};
  }
};

}  // namespace

LRBENCH_DECLARE_METHOD(lowrank_ffn, "flashsvd_ffn",
                       {.description = "FlashSVD-style fused low-rank SwiGLU FFN: gate and up expansions, SiLU, product "
                                       "and down's input factor tile by tile over d_ff; never materializes [T, d_ff] "
                                       "(CUDA: one launch at T <= 16; prefill: a fused middle between two GEMMs, ranks <= 256; CPU: d_ff "
                                       "tiles)",
                        .params = {{"decode_kernel", ParamType::string, "v2",
                                    "CUDA path only: the decode kernel's version, v2 (one role a block) or v3 (all "
                                    "roles a block, cooperative grid, phase B's tiles through a cp.async ring; shapes "
                                    "with two ring stages beside the other tiles); docs/perf/flashsvd.md",
                                    {}, {}, {"v2", "v3"}}}});
LRBENCH_REGISTER_BACKEND("flashsvd_ffn", cpu, FlashsvdFfnCpu);
}  // namespace lrb
