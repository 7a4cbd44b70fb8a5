// dense_merge, CUDA path: in prepare, W'_k = W + s B_k A_k for every adapter in the batch (a D2D copy and
// one cuBLAS GEMM per projection and adapter, timed with events and reported as metrics.merge_ms); in run,
// per projection the gather, one GEMM per adapter group on its merged weight, and the scatter.
#include <cmath>

#include <fmt/format.h>

#include "harness/cuda/lt_gemm.hpp"
#include "harness/registry.hpp"
#include "workloads/adapter_projection/device_data.hpp"

namespace lrb::cuda {
namespace {

class DenseMergeCuda final : public CudaAdapterMethod {
 public:
  explicit DenseMergeCuda(const Params&) {}

  // A merged copy per distinct adapter: refuse points whose copies cannot fit (an upper bound on the
  // distinct adapters, before the problem exists).
  Support can_run(const Point& point, Backend) const override {
    const Params p = point.params();
    const ModelShape* model = Registry::instance().model(p.string("model"));
    if (!model) return Support::yes();
    const long long layers = p.integer("layers") > 0 ? p.integer("layers") : model->n_layers;
    double weight_bytes = 0;
    for (const auto& name : p.string_list("projections")) {
      const ProjectionShape* s = model->projection(name);
      const double din = p.integer("d_in") > 0 ? p.integer("d_in") : s->d_in;
      const double dout = p.integer("d_out") > 0 ? p.integer("d_out") : s->d_out;
      weight_bytes += 2.0 * din * dout * layers;
    }
    const long long distinct = p.string("popularity") == "identical" ? 1 : std::min(p.integer("K"), p.integer("batch"));
    std::size_t free_bytes = 0, total = 0;
    if (cudaMemGetInfo(&free_bytes, &total) != cudaSuccess) return Support::yes();
    const double need = weight_bytes * static_cast<double>(distinct + 1);
    if (need > 0.7 * static_cast<double>(free_bytes))
      return Support::no(fmt::format("merged weights for up to {} adapters need {:.1f} GiB; {:.1f} GiB of device memory "
                                     "is free",
                                     distinct, need / (1u << 30), static_cast<double>(free_bytes) / (1u << 30)));
    return Support::yes();
  }

  void prepare(const Problem& problem, ExecContext& ctx) override {
    bind(problem, ctx);
    batch_.upload(p_->layout, ctx_->stream());
    const AdapterBatch& layout = p_->layout;
    merged_.clear();
    w_.clear();
    xs_.clear();
    ys_.clear();
    x_.clear();
    Event start = Event::create(), stop = Event::create();
    float merge_ms = 0;
    for (const auto& pp : p_->projections) {
      x_.push_back(upload_half(pp.X, ctx_->stream()));
      xs_.emplace_back(static_cast<std::size_t>(p_->batch) * pp.d_in);
      ys_.emplace_back(static_cast<std::size_t>(p_->batch) * pp.d_out);
      zero_workspaces({&xs_.back(), &ys_.back()}, ctx_->stream());
      DeviceBuffer<__half> w;
      if (p_->with_base) w = upload_half(pp.W, ctx_->stream());
      std::vector<DeviceBuffer<__half>> per;
      std::vector<DeviceBuffer<__half>> a, b;
      for (std::size_t g = 0; g < layout.segments(); ++g) {
        if (!layout.has_adapter(g)) {  // tokens with no adapter use W itself: nothing to merge
          a.emplace_back(), b.emplace_back();
          continue;
        }
        const AdapterFactors& f = pp.adapters[layout.segment_adapter[g]];
        a.push_back(upload_half(f.A, ctx_->stream()));
        b.push_back(upload_half(f.B, ctx_->stream()));
      }
      ctx_->synchronize();
      start.record(ctx_->stream());
      for (std::size_t g = 0; g < layout.segments(); ++g) {
        if (!layout.has_adapter(g)) {
          per.emplace_back();
          continue;
        }
        DeviceBuffer<__half> m(static_cast<std::size_t>(pp.d_out) * pp.d_in);
        if (p_->with_base)
          LRB_CUDA_CHECK(cudaMemcpyAsync(m.data(), w.data(), w.bytes(), cudaMemcpyDeviceToDevice, ctx_->stream()));
        // Column-major W'^T [d_in x d_out] (+)= s A^T [d_in x r] B^T [r x d_out].
        gemm_nn(*ctx_, pp.d_in, pp.d_out, p_->rank, pp.adapters[layout.segment_adapter[g]].scale, a[g].data(), pp.d_in,
                b[g].data(), p_->rank, p_->with_base ? 1.0f : 0.0f, m.data(), pp.d_in);
        per.push_back(std::move(m));
      }
      stop.record(ctx_->stream());
      LRB_CUDA_CHECK(cudaEventSynchronize(stop.get()));
      merge_ms += stop.since(start);
      merged_.push_back(std::move(per));
      // W stays resident only where tokens with no adapter use it (empty otherwise, and in adapter-only mode).
      w_.push_back(layout.adapters_used() < layout.segments() ? std::move(w) : DeviceBuffer<__half>());
    }
    merge_ms_ = merge_ms;
    // Tune each group's GEMM on the gathered tokens it will read (initcheck: not on an empty workspace).
    for (std::size_t i = 0; i < p_->projections.size(); ++i) {
      const auto& pp = p_->projections[i];
      gather(i);
      for (std::size_t g = 0; g < layout.segments(); ++g)
        if (const __half* w = weight_of(i, g))
          plan_gemm_tn(*ctx_, pp.d_out, layout.segment_size(g), pp.d_in, w, pp.d_in,
                     xs_[i].data() + static_cast<std::size_t>(layout.segment_offset[g]) * pp.d_in, pp.d_in, 0.0f,
                     ys_[i].data() + static_cast<std::size_t>(layout.segment_offset[g]) * pp.d_out, pp.d_out);
    }
  }

  void run(ExecContext&) override {
    for (std::size_t i = 0; i < p_->projections.size(); ++i) {
      const auto& pp = p_->projections[i];
      gather(i);
      const AdapterBatch& b = p_->layout;
      for (std::size_t g = 0; g < b.segments(); ++g) {
        const int o = b.segment_offset[g], c = b.segment_size(g);
        const __half* w = weight_of(i, g);
        if (!w) continue;  // no adapter, no base: gather zeroed these rows
        tuned_gemm_tn(*ctx_, pp.d_out, c, pp.d_in, 1.0f, w, pp.d_in,
                xs_[i].data() + static_cast<std::size_t>(o) * pp.d_in, pp.d_in, 0.0f,
                ys_[i].data() + static_cast<std::size_t>(o) * pp.d_out, pp.d_out);
      }
      kernels::launch_scatter_rows(ys_[i].data(), batch_.order.data(), p_->batch, pp.d_out, y_[i].data(), ctx_->stream());
      LRB_CUDA_CHECK_LAUNCH();
    }
  }

  Footprint footprint() const override {
    Footprint f;
    for (const auto& per : merged_)
      for (const auto& m : per) f.components["merged_weights"] += m.bytes();
    f.components["workspace"] = bytes_of(xs_) + bytes_of(ys_);
    if (const std::uint64_t w = bytes_of(w_)) f.components["base_weights"] = w;  // for tokens with no adapter
    return f;
  }
  Json metrics() const override {
    return {{"merge_ms", merge_ms_}, {"merged_copies_per_projection", p_ ? p_->layout.adapters_used() : 0},
            {"merge_note", "device merge W + s B A (copy + one GEMM per projection and adapter), CUDA events"}};
  }

 private:
  // xs_[i] = the rows of X in group order.
  // In adapter-only mode the rows of tokens with no adapter are 0 (no GEMM writes them).
  void gather(std::size_t i) {
    kernels::launch_gather_rows(x_[i].data(), batch_.order.data(), p_->batch, p_->projections[i].d_in, xs_[i].data(),
                                ctx_->stream());
    LRB_CUDA_CHECK_LAUNCH();
    if (!p_->with_base) zero_rows_without_adapter(p_->layout, ys_[i].data(), p_->projections[i].d_out, ctx_->stream());
  }
  // The weight segment g of projection i multiplies by: its merged copy, W for tokens with no adapter, or none
  // (no adapter in adapter-only mode).
  const __half* weight_of(std::size_t i, std::size_t g) const {
    if (p_->layout.has_adapter(g)) return merged_[i][g].data();
    return p_->with_base ? w_[i].data() : nullptr;
  }
  DeviceAdapterBatch batch_;
  std::vector<std::vector<DeviceBuffer<__half>>> merged_;
  std::vector<DeviceBuffer<__half>> x_, xs_, ys_, w_;
  double merge_ms_ = 0;
};

}  // namespace
LRBENCH_REGISTER_BACKEND("dense_merge", cuda, DenseMergeCuda);
}  // namespace lrb::cuda
