#pragma once
// The CUDA path bgmv and sgmv share (kernels/adapter_projection/punica.cuh): the base GEMMs Y = X W^T
// (base+adapter mode; `schedule` as base_only's: one cuBLAS batched call for all projections, or a tuned
// cuBLASLt GEMM per projection: the base the method is judged against), then ONE shrink launch and ONE expand launch
// for all projections of the pass. bgmv walks the batch token by token with each token's adapter index
// (nothing sorted: one segment per token); sgmv walks the batch layout's segments (tokens sorted by adapter), so
// an adapter's factors are read once per segment. All K adapters of a projection are stacked ([K][r][d_in] and
// [K][d_out][r]), as Punica and vLLM keep them.
#include <fmt/format.h>

#include <numeric>
#include <stdexcept>
#include <vector>

#include "kernels/adapter_projection/fused_lora.cuh"
#include "kernels/adapter_projection/punica.cuh"
#include "kernels/common/device_limits.cuh"
#include "methods/bgmv/punica_params.hpp"
#include "workloads/adapter_projection/device_data.hpp"

namespace lrb::cuda {

class PunicaLoraCuda : public CudaAdapterMethod {
 public:
  enum class Walk { per_token, segments };
  PunicaLoraCuda(Walk walk, const Params& p)
      : walk_(walk), schedule_(BaseGemms::parse(p.string("schedule"))), fused_(p.string("pass") == "fused") {}

  Support can_run(const Point& point, Backend) const override {
    const Params p = point.params();
    if (p.has("rank") && p.integer("rank") > kernels::kLoraMaxRank)
      return Support::no(fmt::format("the expand kernel keeps a row of B in registers: ranks up to {} (rank = {})",
                                     kernels::kLoraMaxRank, p.integer("rank")));
    if (!fused_)  // the fused pass runs its own GEMM, not the schedule's
      if (const Support s = base_only::schedule_support(schedule_ == BaseGemms::Schedule::cutlass_grouped, point,
                                                        kernels::GroupedGemmSm90a::unavailable_reason());
          !s.ok)
        return s;
    return punica::can_run(point, fused_);
  }

  void prepare(const Problem& problem, ExecContext& ctx) override {
    bind(problem, ctx);
    const cudaStream_t st = ctx_->stream();
    if (p_->rank > kernels::kLoraMaxRank)
      throw std::runtime_error(fmt::format("{}: rank {} above {}", name(), p_->rank, kernels::kLoraMaxRank));
    const std::size_t n = p_->projections.size();
    for (auto* v : {&w_, &x_, &a_, &b_}) {
      v->clear();
      v->resize(n);
    }
    scale_.clear();
    scale_.resize(n);
    t_.allocate(n * static_cast<std::size_t>(p_->batch) * p_->rank);
    t_.zero(st);
    std::vector<kernels::LoraProjectionArgs> table(n);
    std::vector<GemmProblem> base;
    int max_in = 0, max_out = 0;
    for (std::size_t i = 0; i < n; ++i) {
      const auto& pp = p_->projections[i];
      if (p_->with_base) w_[i] = upload_half(pp.W, st);
      x_[i] = upload_half(pp.X, st);
      const StackedAdapters s = pp.stacked();
      a_[i].upload(reinterpret_cast<const __half*>(s.A.data()), s.A.size(), st);
      b_[i].upload(reinterpret_cast<const __half*>(s.B.data()), s.B.size(), st);
      scale_[i].upload(s.scale.data(), s.scale.size(), st);
      auto& t = table[i];
      t.X = x_[i].data(), t.A = a_[i].data(), t.B = b_[i].data(), t.scale = scale_[i].data(), t.Y = y_[i].data();
      t.T = t_.data() + i * static_cast<std::size_t>(p_->batch) * p_->rank;
      t.d_in = pp.d_in, t.d_out = pp.d_out;
      max_in = std::max(max_in, pp.d_in), max_out = std::max(max_out, pp.d_out);
      if (p_->with_base)
        base.push_back({pp.d_out, p_->batch, pp.d_in, w_[i].data(), pp.d_in, x_[i].data(), pp.d_in, y_[i].data(),
                        pp.d_out, 1.0f, 0.0f});
    }
    if (fused_) prepare_fused(table);
    else base_.plan(std::move(base), schedule_, *ctx_);
    table_.upload(table.data(), table.size(), st);

    // The walk: bgmv one segment per token in batch order (its adapter index), sgmv the sorted segments.
    const AdapterBatch& b = p_->layout;
    std::vector<int> offset, adapter, order;
    if (walk_ == Walk::per_token) {
      order.resize(static_cast<std::size_t>(b.batch()));
      std::iota(order.begin(), order.end(), 0);
      offset.resize(order.size() + 1);
      std::iota(offset.begin(), offset.end(), 0);
      adapter = b.token_adapter;
    } else {
      order = b.order, offset = b.segment_offset, adapter = b.segment_adapter;
    }
    order_.upload(order.data(), order.size(), st);
    offset_.upload(offset.data(), offset.size(), st);
    adapter_.upload(adapter.data(), adapter.size(), st);

    launch_ = {};
    launch_.projections = table_.data();
    launch_.n_projections = static_cast<int>(n);
    launch_.seg_offset = offset_.data(), launch_.seg_adapter = adapter_.data(), launch_.order = order_.data();
    launch_.segments = static_cast<int>(adapter.size());
    launch_.tokens = p_->batch, launch_.rank = p_->rank;
    launch_.max_d_in = max_in, launch_.max_d_out = max_out;
    launch_.shrink_splits =
        kernels::shrink_splits_for(launch_.segments, launch_.n_projections, max_in, kernels::device_sm_count());
    launch_.accumulate = p_->with_base;
  }

  void run(ExecContext&) override {
    const cudaStream_t st = ctx_->stream();
    if (!fused_) base_.run(*ctx_);  // nothing in adapter-only mode
    LRB_CUDA_CHECK(cudaMemsetAsync(t_.data(), 0, t_.bytes(), st));
    kernels::launch_lora_shrink(launch_, st);
    LRB_CUDA_CHECK_LAUNCH();
    if (fused_) kernels::launch_fused_lora(fused_launch_, st);  // Y = X W^T + s T B^T, written once
    else kernels::launch_lora_expand(launch_, st);
    LRB_CUDA_CHECK_LAUNCH();
  }

  Footprint footprint() const override {
    return {{{"base_weights", bytes_of(w_)}, {"adapters", bytes_of(a_) + bytes_of(b_)}, {"workspace", t_.bytes()}}};
  }
  Json metrics() const override {
    return {{"kernel", walk_ == Walk::per_token ? "bgmv_v1" : "sgmv_v1"},
            {"pass", fused_ ? "fused_v2" : "separate"},
            {"base_schedule", fused_ ? "fused_v2 (one skinny GEMM launch, every projection; a programmatic "
                                       "dependent of the shrink)"
                                     : base_.describe()},
            {"segments", launch_.segments},
            {"shrink_splits", launch_.shrink_splits}};
  }

 private:
  const char* name() const { return walk_ == Walk::per_token ? "bgmv" : "sgmv"; }

  // The fused pass's table: the shrink's table plus each projection's W, and the per-token adapter index.
  void prepare_fused(const std::vector<kernels::LoraProjectionArgs>& table) {
    if (!p_->with_base || p_->batch > punica::kFusedMaxBatch)
      throw std::runtime_error(fmt::format("{}: pass fused needs base+adapter mode and batch <= {}", name(),
                                           punica::kFusedMaxBatch));
    const cudaStream_t st = ctx_->stream();
    std::vector<kernels::FusedLoraProjection> fused(table.size());
    int max_out = 0;
    for (std::size_t i = 0; i < table.size(); ++i) {
      const auto& t = table[i];
      fused[i] = {t.X, w_[i].data(), t.B, t.scale, t.T, t.Y, t.d_in, t.d_out};
      max_out = std::max(max_out, t.d_out);
    }
    fused_table_.upload(fused.data(), fused.size(), st);
    token_adapter_.upload(p_->layout.token_adapter.data(), p_->layout.token_adapter.size(), st);
    fused_launch_ = {fused_table_.data(), static_cast<int>(fused.size()), token_adapter_.data(), p_->batch, p_->rank,
                     max_out};
    ctx_->synchronize();  // the host table goes out of scope
  }

  Walk walk_;
  BaseGemms::Schedule schedule_;
  bool fused_;
  BaseGemms base_;
  std::vector<DeviceBuffer<__half>> w_, x_, a_, b_;
  std::vector<DeviceBuffer<float>> scale_;
  DeviceBuffer<float> t_;
  DeviceBuffer<kernels::LoraProjectionArgs> table_;
  DeviceBuffer<int> order_, offset_, adapter_;
  kernels::LoraLaunch launch_;
  DeviceBuffer<kernels::FusedLoraProjection> fused_table_;
  DeviceBuffer<int> token_adapter_;
  kernels::FusedLoraLaunch fused_launch_;
};

// The registered class of each walk: bgmv_cuda.cpp and sgmv_cuda.cpp each register one.
template <PunicaLoraCuda::Walk kWalk>
class PunicaLoraCudaOf final : public PunicaLoraCuda {
 public:
  explicit PunicaLoraCudaOf(const Params& p) : PunicaLoraCuda(kWalk, p) {}
};

}  // namespace lrb::cuda
