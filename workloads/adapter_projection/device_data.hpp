#pragma once
// Shared pieces of the adapter_projection CUDA paths: fp16 uploads of the problem's tensors, the token
// grouping plan, and fp16 outputs with poisoning and download (included by *_cuda.cpp files only).
#include <cuda_fp16.h>

#include <vector>

#include "harness/cuda/cuda_context.hpp"
#include "harness/cuda/device_buffer.hpp"
#include "harness/cuda/gemm.hpp"
#include "workloads/adapter_projection/method_base.hpp"

namespace lrb::cuda {

inline const __half* as_device_half(const Half* p) { return reinterpret_cast<const __half*>(p); }

// The problem's fp16 matrices keep their bits: Eigen::half and __half are both IEEE binary16.
template <class M>
DeviceBuffer<__half> upload_half(const M& m, cudaStream_t stream) {
  DeviceBuffer<__half> b;
  if (m.size() > 0) b.upload(as_device_half(m.data()), static_cast<std::size_t>(m.size()), stream);
  return b;
}

// Tokens ordered by adapter group (the order tokens are gathered in) and each group's slice of it.
struct TokenGroups {
  DeviceBuffer<int> order;
  std::vector<int> offset, count, adapter;
};

inline TokenGroups plan_token_groups(const AdapterProblem& p, cudaStream_t stream) {
  TokenGroups g;
  std::vector<int> order;
  for (const auto& group : p.groups) {
    g.offset.push_back(static_cast<int>(order.size()));
    g.count.push_back(static_cast<int>(group.tokens.size()));
    g.adapter.push_back(group.adapter);
    order.insert(order.end(), group.tokens.begin(), group.tokens.end());
  }
  g.order.upload(order.data(), order.size(), stream);
  return g;
}

// Base for adapter_projection CUDA paths: one fp16 output per projection on the device.
class CudaAdapterMethod : public AdapterProjectionMethod {
 public:
  void poison_output() override {
    for (auto& y : y_) poison_half(y.data(), y.size(), ctx_->stream());
  }
  const std::vector<MatrixF>& output() override {
    host_.resize(y_.size());
    std::vector<Half> buf;
    for (std::size_t i = 0; i < y_.size(); ++i) {
      buf.resize(y_[i].size());
      y_[i].download(reinterpret_cast<__half*>(buf.data()), ctx_->stream());
      ctx_->synchronize();
      host_[i] = Eigen::Map<const MatrixH>(buf.data(), p_->batch, p_->projections[i].d_out).cast<float>();
    }
    return host_;
  }

 protected:
  void bind(const Problem& problem, ExecContext& ctx) {
    p_ = &static_cast<const AdapterProblem&>(problem);
    ctx_ = &cuda_context(ctx);
    y_.clear();
    for (const auto& proj : p_->projections)
      y_.emplace_back(static_cast<std::size_t>(p_->batch) * proj.d_out);
  }
  std::uint64_t bytes_of(const std::vector<DeviceBuffer<__half>>& v) const {
    std::uint64_t b = 0;
    for (const auto& x : v) b += x.bytes();
    return b;
  }

  const AdapterProblem* p_ = nullptr;
  CudaContext* ctx_ = nullptr;
  std::vector<DeviceBuffer<__half>> y_;
  std::vector<MatrixF> host_;
};

}  // namespace lrb::cuda

#include "harness/cuda/lt_gemm.hpp"
#include "kernels/rows.cuh"

namespace lrb::cuda {

// Device state of the unmerged LoRA paths (sequential_lora, grouped_gemm): base weights, all K adapters'
// factors resident, activations, and per-projection workspaces for tokens sorted by adapter.
struct LoraDeviceState {
  struct Projection {
    DeviceBuffer<__half> W, X, Xs, Ys, T;  // Xs/Ys: tokens in group order; T: the rank-r intermediate
    std::vector<DeviceBuffer<__half>> A, B;
  };
  std::vector<Projection> proj;
  TokenGroups groups;

  void load(const AdapterProblem& p, CudaContext& ctx) {
    proj.clear();
    groups = plan_token_groups(p, ctx.stream());
    for (const auto& pp : p.projections) {
      Projection d;
      if (p.with_base) d.W = upload_half(pp.W, ctx.stream());
      d.X = upload_half(pp.X, ctx.stream());
      d.Xs.allocate(static_cast<std::size_t>(p.batch) * pp.d_in);
      d.Ys.allocate(static_cast<std::size_t>(p.batch) * pp.d_out);
      d.T.allocate(static_cast<std::size_t>(p.batch) * p.rank);
      for (const auto& f : pp.adapters) {
        d.A.push_back(upload_half(f.A, ctx.stream()));
        d.B.push_back(upload_half(f.B, ctx.stream()));
      }
      proj.push_back(std::move(d));
    }
    // Tune every GEMM shape of the pass on these buffers (base, and each group's shrink and expand).
    for (std::size_t i = 0; i < proj.size(); ++i) {
      const auto& pp = p.projections[i];
      if (p.with_base)
        plan_gemm_tn(ctx, pp.d_out, p.batch, pp.d_in, proj[i].W.data(), pp.d_in, proj[i].Xs.data(), pp.d_in, 0.0f,
                     proj[i].Ys.data(), pp.d_out);
      for (std::size_t g = 0; g < groups.adapter.size(); ++g) {
        const auto [shrink, expand] = lora_gemms(p, i, g);
        for (const GemmProblem& q : {shrink, expand}) plan_gemm_tn(ctx, q.m, q.n, q.k, q.A, q.lda, q.B, q.ldb, q.beta, q.C, q.ldc);
      }
    }
  }
  // Xs = X rows in group order.
  void gather(const AdapterProblem& p, CudaContext& ctx, std::size_t i) {
    kernels::launch_gather_rows(proj[i].X.data(), groups.order.data(), p.batch, p.projections[i].d_in, proj[i].Xs.data(),
                                ctx.stream());
    LRB_CUDA_CHECK_LAUNCH();
  }
  // Xs = X rows in group order; Ys = Xs W^T (or nothing in adapter-only mode).
  void gather_and_base(const AdapterProblem& p, CudaContext& ctx, std::size_t i) {
    const auto& pp = p.projections[i];
    gather(p, ctx, i);
    if (p.with_base)
      tuned_gemm_tn(ctx, pp.d_out, p.batch, pp.d_in, 1.0f, proj[i].W.data(), pp.d_in, proj[i].Xs.data(), pp.d_in, 0.0f,
                    proj[i].Ys.data(), pp.d_out);
  }
  void scatter(const AdapterProblem& p, CudaContext& ctx, std::size_t i, __half* y) {
    kernels::launch_scatter_rows(proj[i].Ys.data(), groups.order.data(), p.batch, p.projections[i].d_out, y,
                                 ctx.stream());
    LRB_CUDA_CHECK_LAUNCH();
  }
  // The two GEMMs of group g of projection i: T_g = Xs_g A^T, Ys_g (+)= s T_g B^T.
  std::pair<GemmProblem, GemmProblem> lora_gemms(const AdapterProblem& p, std::size_t i, std::size_t g) {
    const auto& pp = p.projections[i];
    const int k = groups.adapter[g], o = groups.offset[g], c = groups.count[g], r = p.rank;
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

inline void run_gemm(CudaContext& ctx, const GemmProblem& g) {
  tuned_gemm_tn(ctx, g.m, g.n, g.k, g.alpha, g.A, g.lda, g.B, g.ldb, g.beta, g.C, g.ldc);
}

}  // namespace lrb::cuda
