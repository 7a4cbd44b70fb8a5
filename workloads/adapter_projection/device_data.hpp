#pragma once
// Shared pieces of the adapter_projection CUDA paths: fp16 uploads of the problem's tensors, the batch
// layout on the device, and guarded fp16 outputs (included by *_cuda.cpp files only).
#include <cuda_fp16.h>

#include <algorithm>
#include <vector>

#include "harness/cuda/cuda_context.hpp"
#include "harness/cuda/device_buffer.hpp"
#include "harness/cuda/gemm.hpp"
#include "workloads/adapter_projection/method_base.hpp"

namespace lrb::cuda {

inline const __half* as_device_half(const Half* p) { return reinterpret_cast<const __half*>(p); }

// The problem's batch layout on the device: the sorted token order, segment offsets and each segment's
// and token's adapter (device arrays for kernels), with host copies of the segment table for launches.
struct DeviceAdapterBatch {
  DeviceBuffer<int> order, segment_offset, segment_adapter, token_adapter;
  const AdapterBatch* host = nullptr;

  void upload(const AdapterBatch& b, cudaStream_t stream) {
    host = &b;
    order.upload(b.order.data(), b.order.size(), stream);
    segment_offset.upload(b.segment_offset.data(), b.segment_offset.size(), stream);
    segment_adapter.upload(b.segment_adapter.data(), b.segment_adapter.size(), stream);
    token_adapter.upload(b.token_adapter.data(), b.token_adapter.size(), stream);
  }
  std::size_t segments() const { return host->segments(); }
};

// Base for adapter_projection CUDA paths: one fp16 output per projection on the device, with guard bands.
class CudaAdapterMethod : public AdapterProjectionMethod {
 public:
  std::vector<OutputView> outputs() override {
    std::vector<OutputView> v;
    for (std::size_t i = 0; i < y_.size(); ++i)
      v.push_back({p_->projections[i].name, Memory::device, DType::f16, y_[i].data(),
                   static_cast<std::size_t>(p_->batch), static_cast<std::size_t>(p_->projections[i].d_out),
                   y_[i].guard_elements()});
    return v;
  }

 protected:
  void bind(const Problem& problem, ExecContext& ctx) {
    p_ = &static_cast<const AdapterProblem&>(problem);
    ctx_ = &cuda_context(ctx);
    y_.clear();
    for (const auto& proj : p_->projections) {
      y_.emplace_back();
      allocate_output(y_.back(), static_cast<std::size_t>(p_->batch) * proj.d_out);
    }
  }
  std::uint64_t bytes_of(const std::vector<DeviceBuffer<__half>>& v) const {
    std::uint64_t b = 0;
    for (const auto& x : v) b += x.bytes();
    return b;
  }

  const AdapterProblem* p_ = nullptr;
  CudaContext* ctx_ = nullptr;
  std::vector<DeviceBuffer<__half>> y_;
};

}  // namespace lrb::cuda

#include "harness/cuda/lt_gemm.hpp"
#include "kernels/adapter_projection/rows.cuh"
#include "kernels/common/grouped_gemm_sm90a.cuh"

namespace lrb::cuda {

// Workspaces are zeroed once when allocated (untimed). The GEMMs write every element before it is read
// (the conformance tests prove it), but compute-sanitizer's initcheck does not see the TMA stores of
// cuBLAS's Hopper kernels (nvjet_*_bz_*) and would report every later read of their output as uninitialized.
inline void zero_workspaces(std::initializer_list<DeviceBuffer<__half>*> buffers, cudaStream_t stream) {
  for (auto* b : buffers) b->zero(stream);
}

inline void run_gemm(CudaContext& ctx, const GemmProblem& g) {
  tuned_gemm_tn(ctx, g.m, g.n, g.k, g.alpha, g.A, g.lda, g.B, g.ldb, g.beta, g.C, g.ldc);
}
inline void plan_gemm(CudaContext& ctx, const GemmProblem& g) {
  plan_gemm_tn(ctx, g.m, g.n, g.k, g.A, g.lda, g.B, g.ldb, g.beta, g.C, g.ldc);
}

// The base GEMMs of a pass, Y_i = X_i W_i^T for every projection, in base_only's schedules: "batched" (one cuBLAS
// grouped call for all projections), "per_projection" (a tuned cuBLASLt GEMM each, in sequence) or
// "cutlass_grouped" (one persistent CUTLASS sm_90a grouped GEMM over every (projection, tile):
// kernels/common/grouped_gemm_sm90a.cuh). base_only measures them alone; bgmv / sgmv run them before their
// adapter kernels.
class BaseGemms {
 public:
  // auto: the fastest measured schedule for the batch (results/h100/adapters_fused_cutlass, held graph replays,
  // 128 Llama-2-7B projections): batched up to 64 tokens (0.98-1.03 of the floor; CUTLASS 0.96-1.02), above it
  // cutlass_grouped (0.89 at 256, batched 0.35, per_projection 0.72) where it can run, else per_projection.
  enum class Schedule { batched, per_projection, cutlass_grouped, automatic };
  static constexpr int kAutoBatchedUpTo = 64;
  static Schedule parse(const std::string& s) {
    if (s == "per_projection") return Schedule::per_projection;
    if (s == "cutlass_grouped") return Schedule::cutlass_grouped;
    if (s == "auto") return Schedule::automatic;
    return Schedule::batched;
  }
  void plan(std::vector<GemmProblem> problems, Schedule schedule, CudaContext& ctx) {
    problems_ = std::move(problems);
    automatic_ = schedule == Schedule::automatic;
    schedule_ = automatic_ ? pick(problems_) : schedule;
    if (problems_.empty()) return;  // adapter-only mode: no base
    switch (schedule_) {
      case Schedule::batched: grouped_.plan(problems_, ctx); break;
      case Schedule::per_projection:
        for (const auto& g : problems_) plan_gemm(ctx, g);
        break;
      case Schedule::cutlass_grouped: cutlass_.plan(cutlass_problems(problems_), ctx.stream()); break;
      case Schedule::automatic: break;  // resolved by pick()
    }
  }
  void run(CudaContext& ctx) const {
    if (problems_.empty()) return;
    switch (schedule_) {
      case Schedule::batched: grouped_.run(ctx); break;
      case Schedule::per_projection:
        for (const auto& g : problems_) run_gemm(ctx, g);
        break;
      case Schedule::cutlass_grouped: cutlass_.run(ctx.stream()); break;
      case Schedule::automatic: break;
    }
  }
  // For the records: the schedule (what auto chose), and CUTLASS's tile configuration where it is used.
  std::string describe() const {
    const std::string prefix = automatic_ ? "auto: " : "";
    switch (schedule_) {
      case Schedule::batched: return prefix + "batched";
      case Schedule::per_projection: return prefix + "per_projection";
      case Schedule::cutlass_grouped: return prefix + "cutlass_grouped (" + cutlass_.config() + ")";
      case Schedule::automatic: break;
    }
    return "";
  }

 private:
  static std::vector<kernels::GroupedGemmSm90aProblem> cutlass_problems(const std::vector<GemmProblem>& problems) {
    std::vector<kernels::GroupedGemmSm90aProblem> ps;
    for (const auto& g : problems)
      ps.push_back({g.A, g.B, g.C, g.m, g.n, g.k});  // A = W [m][k], B = X [n][k], C = Y [n][m]
    return ps;
  }
  static Schedule pick(const std::vector<GemmProblem>& problems) {
    int batch = 0;
    for (const auto& g : problems) batch = std::max(batch, g.n);
    if (batch <= kAutoBatchedUpTo) return Schedule::batched;
    if (kernels::GroupedGemmSm90a::unavailable_reason().empty() &&
        kernels::GroupedGemmSm90a::unsupported_reason(cutlass_problems(problems)).empty())
      return Schedule::cutlass_grouped;
    return Schedule::per_projection;
  }

  std::vector<GemmProblem> problems_;
  bool automatic_ = false;
  Schedule schedule_ = Schedule::batched;
  GroupedGemm grouped_;
  kernels::GroupedGemmSm90a cutlass_;
};

// Rows (in segment order) of the segments with no adapter set to 0: adapter-only outputs of tokens that have none.
inline void zero_rows_without_adapter(const AdapterBatch& b, __half* rows, int width, cudaStream_t stream) {
  for (std::size_t g = 0; g < b.segments(); ++g)
    if (!b.has_adapter(g))
      LRB_CUDA_CHECK(cudaMemsetAsync(rows + static_cast<std::size_t>(b.segment_offset[g]) * width, 0,
                                     static_cast<std::size_t>(b.segment_size(g)) * width * sizeof(__half), stream));
}

// Device state of the unmerged LoRA paths (sequential_lora, grouped_gemm): base weights, all K adapters'
// factors resident, activations, and per-projection workspaces for tokens sorted by adapter.
struct LoraDeviceState {
  struct Projection {
    DeviceBuffer<__half> W, X, Xs, Ys, T;  // Xs/Ys: tokens in group order; T: the rank-r intermediate
    std::vector<DeviceBuffer<__half>> A, B;
  };
  std::vector<Projection> proj;
  DeviceAdapterBatch batch;

  void load(const AdapterProblem& p, CudaContext& ctx) {
    proj.clear();
    batch.upload(p.layout, ctx.stream());
    for (const auto& pp : p.projections) {
      Projection d;
      if (p.with_base) d.W = upload_half(pp.W, ctx.stream());
      d.X = upload_half(pp.X, ctx.stream());
      d.Xs.allocate(static_cast<std::size_t>(p.batch) * pp.d_in);
      d.Ys.allocate(static_cast<std::size_t>(p.batch) * pp.d_out);
      d.T.allocate(static_cast<std::size_t>(p.batch) * p.rank);
      zero_workspaces({&d.Xs, &d.Ys, &d.T}, ctx.stream());
      for (const auto& f : pp.adapters) {
        d.A.push_back(upload_half(f.A, ctx.stream()));
        d.B.push_back(upload_half(f.B, ctx.stream()));
      }
      proj.push_back(std::move(d));
    }
  }
  // Tunes every cuBLASLt GEMM of the sequential pass (base, each group's shrink and expand) on the run's own
  // data: each GEMM is tuned only after the GEMMs it reads from have run once, so no candidate algorithm is
  // timed on uninitialized memory (compute-sanitizer initcheck found the first version doing that).
  void tune_sequential_gemms(const AdapterProblem& p, CudaContext& ctx) {
    for (std::size_t i = 0; i < proj.size(); ++i) {
      gather(p, ctx, i);
      if (p.with_base) {
        plan_gemm(ctx, base_gemm(p, i));
        run_gemm(ctx, base_gemm(p, i));  // Ys = the base output, which the expands accumulate onto
      }
      for (std::size_t g = 0; g < batch.segments(); ++g) {
        if (!p.layout.has_adapter(g)) continue;
        const auto [shrink, expand] = lora_gemms(p, i, g);
        plan_gemm(ctx, shrink);
        run_gemm(ctx, shrink);  // T_g, which the expand reads
        plan_gemm(ctx, expand);
      }
    }
  }
  // Xs = X rows in group order; in adapter-only mode also Ys = 0 on the rows of tokens with no adapter, which no
  // expand writes.
  void gather(const AdapterProblem& p, CudaContext& ctx, std::size_t i) {
    kernels::launch_gather_rows(proj[i].X.data(), batch.order.data(), p.batch, p.projections[i].d_in, proj[i].Xs.data(),
                                ctx.stream());
    LRB_CUDA_CHECK_LAUNCH();
    if (!p.with_base) zero_rows_without_adapter(p.layout, proj[i].Ys.data(), p.projections[i].d_out, ctx.stream());
  }
  // Xs = X rows in group order; Ys = Xs W^T (or nothing in adapter-only mode).
  void gather_and_base(const AdapterProblem& p, CudaContext& ctx, std::size_t i) {
    gather(p, ctx, i);
    if (p.with_base) run_gemm(ctx, base_gemm(p, i));
  }
  // The base GEMM of projection i: Ys = Xs W^T.
  GemmProblem base_gemm(const AdapterProblem& p, std::size_t i) {
    const auto& pp = p.projections[i];
    return {pp.d_out, p.batch, pp.d_in, proj[i].W.data(), pp.d_in, proj[i].Xs.data(), pp.d_in, proj[i].Ys.data(),
            pp.d_out, 1.0f, 0.0f};
  }
  void scatter(const AdapterProblem& p, CudaContext& ctx, std::size_t i, __half* y) {
    kernels::launch_scatter_rows(proj[i].Ys.data(), batch.order.data(), p.batch, p.projections[i].d_out, y,
                                 ctx.stream());
    LRB_CUDA_CHECK_LAUNCH();
  }
  // The two GEMMs of segment g of projection i: T_g = Xs_g A^T, Ys_g (+)= s T_g B^T.
  std::pair<GemmProblem, GemmProblem> lora_gemms(const AdapterProblem& p, std::size_t i, std::size_t g) {
    const auto& pp = p.projections[i];
    const AdapterBatch& b = p.layout;
    const int k = b.segment_adapter[g], o = b.segment_offset[g], c = b.segment_size(g), r = p.rank;
    auto& d = proj[i];
    GemmProblem shrink{r, c, pp.d_in, d.A[k].data(), pp.d_in, d.Xs.data() + static_cast<std::size_t>(o) * pp.d_in,
                       pp.d_in, d.T.data() + static_cast<std::size_t>(o) * r, r, 1.0f, 0.0f};
    GemmProblem expand{pp.d_out, c, r, d.B[k].data(), r, d.T.data() + static_cast<std::size_t>(o) * r, r,
                       d.Ys.data() + static_cast<std::size_t>(o) * pp.d_out, pp.d_out, pp.adapters[k].scale,
                       p.with_base ? 1.0f : 0.0f};
    return {shrink, expand};
  }
  Footprint footprint() const {
    Footprint f;
    for (const auto& d : proj) {
      f.components["base_weights"] += d.W.bytes();
      for (std::size_t k = 0; k < d.A.size(); ++k) f.components["adapters"] += d.A[k].bytes() + d.B[k].bytes();
      f.components["workspace"] += d.Xs.bytes() + d.Ys.bytes() + d.T.bytes();
    }
    return f;
  }
};


}  // namespace lrb::cuda
