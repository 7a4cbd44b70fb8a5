// s2lc, CUDA path: kernels/adapter_projection/s2lc.cu. In base+adapter mode the base GEMMs of all projections (one cuBLAS
// grouped call, base_only's fastest schedule) write Y first and the s2lc kernel adds the adapter part.
// launch=grouped runs all projections in one launch; per_projection launches one kernel per projection (the
// seed's 128 kernels).
// In graph mode the whole pass is one CUDA graph either way.
#include "harness/cuda/check.hpp"
#include "harness/cuda/device_info.hpp"
#include "harness/registry.hpp"
#include "kernels/adapter_projection/s2lc.cuh"
#include "methods/s2lc/s2lc_method.hpp"
#include "workloads/adapter_projection/device_data.hpp"

namespace lrb::cuda {
namespace {

kernels::S2lcLayout kernel_layout(s2lc::Layout l) {
  switch (l) {
    case s2lc::Layout::u8x2: return kernels::S2lcLayout::u8x2;
    case s2lc::Layout::packed: return kernels::S2lcLayout::packed;
    case s2lc::Layout::fp16: return kernels::S2lcLayout::fp16;
  }
  return kernels::S2lcLayout::u8x2;
}

// Each adapter's code starts on a 16-byte boundary (the kernel's vector loads); the padding is counted.
std::size_t padded(std::size_t bytes) { return (bytes + 15) / 16 * 16; }

class S2lcCuda final : public CudaAdapterMethod {
 public:
  explicit S2lcCuda(const Params& params) : s_(params) {}

  Support can_run(const Point&, Backend) const override {
    if (!kernels::s2lc_supported_rank(s_.R))
      return Support::no(fmt::format("the CUDA kernel is built for basis_rank {} (got {})",
                                     fmt::join(kernels::kS2lcRankList, ", "), s_.R));
    if (device_info().cc_major < 9)
      return Support::no(fmt::format("s2lc's kernel uses thread-block clusters (compute capability 9.0+); this GPU "
                                     "is {}.{}", device_info().cc_major, device_info().cc_minor));
    return Support::yes();
  }

  void prepare(const Problem& problem, ExecContext& ctx) override {
    bind(problem, ctx);
    enc_ = s2lc::cached_encoding(*p_, s_.R, &computed_here_);
    const cudaStream_t st = ctx_->stream();
    batch_.upload(p_->layout, st);

    proj_.clear();
    std::vector<kernels::S2lcProjectionArgs> args;
    std::vector<GemmProblem> base;
    for (std::size_t i = 0; i < p_->projections.size(); ++i) {
      const auto& pp = p_->projections[i];
      const auto& e = enc_->projections[i];
      Projection d;
      const std::size_t stride = padded(s2lc::code_bytes(e.adapters.front(), s_.layout));
      if (p_->with_base) d.W = upload_half(pp.W, st);
      d.X = upload_half(pp.X, st);
      d.V = upload_half(e.V, st);
      std::vector<unsigned char> codes(stride * e.adapters.size(), 0);
      std::vector<Half> books;
      for (std::size_t k = 0; k < e.adapters.size(); ++k) {
        const auto& a = e.adapters[k];
        s2lc::copy_code(a, s_.layout, codes.data() + k * stride);
        books.insert(books.end(), a.q.codebook.c1.begin(), a.q.codebook.c1.end());
        books.insert(books.end(), a.q.codebook.c2.begin(), a.q.codebook.c2.end());
      }
      d.codes.upload(codes.data(), codes.size(), st);
      if (s_.layout != s2lc::Layout::fp16) d.codebooks.upload(as_device_half(books.data()), books.size(), st);
      ctx_->synchronize();  // the host staging vectors go out of scope
      args.push_back(
          {d.X.data(), d.V.data(), y_[i].data(), d.codes.data(), d.codebooks.data(), pp.d_in, pp.d_out, stride});
      if (p_->with_base)
        base.push_back({pp.d_out, p_->batch, pp.d_in, d.W.data(), pp.d_in, d.X.data(), pp.d_in, y_[i].data(), pp.d_out,
                        1.0f, 0.0f});
      proj_.push_back(std::move(d));
    }
    if (p_->with_base) base_.plan(base, *ctx_);
    max_d_in_ = 0;
    for (const auto& pp : p_->projections) max_d_in_ = std::max(max_d_in_, pp.d_in);
    args_.upload(args.data(), args.size(), st);
    ctx_->synchronize();
  }

  void run(ExecContext&) override {
    const kernels::S2lcGroups groups{batch_.order.data(), batch_.segment_offset.data(),
                                     batch_.segment_adapter.data(), static_cast<int>(batch_.segments()), p_->batch};
    if (p_->with_base) base_.run(*ctx_);
    const auto layout = kernel_layout(s_.layout);
    if (s_.grouped) {
      kernels::launch_s2lc(args_.data(), static_cast<int>(proj_.size()), groups, s_.R, layout, max_d_in_,
                           p_->with_base, ctx_->stream());
      LRB_CUDA_CHECK_LAUNCH();
    } else {
      for (std::size_t i = 0; i < proj_.size(); ++i) {
        kernels::launch_s2lc(args_.data() + i, 1, groups, s_.R, layout, p_->projections[i].d_in, p_->with_base,
                             ctx_->stream());
        LRB_CUDA_CHECK_LAUNCH();
      }
    }
  }

  Footprint footprint() const override {
    Footprint f;
    for (const auto& d : proj_) {
      f.components["base_weights"] += d.W.bytes();
      f.components["shared_bases"] += d.V.bytes();
      f.components[s2lc::code_component(s_.layout)] += d.codes.bytes();
      if (s_.layout != s2lc::Layout::fp16) f.components["codebooks"] += d.codebooks.bytes();
    }
    return f;
  }
  std::optional<Floor> floor(const Problem& problem) const override {
    return s2lc::floor(static_cast<const AdapterProblem&>(problem), *enc_, s_.layout);
  }
  Json metrics() const override {
    Json m = s2lc::metrics(*enc_, s_.layout, computed_here_);
    m["launch"] = s_.grouped ? "grouped" : "per_projection";
    m["s2lc_launches_per_pass"] = s_.grouped ? 1 : proj_.size();
    m["base"] = p_->with_base ? "one cuBLAS grouped GEMM over all projections" : "none (adapter-only)";
    return m;
  }

 private:
  struct Projection {
    DeviceBuffer<__half> W, X, V, codebooks;
    DeviceBuffer<unsigned char> codes;
  };
  s2lc::Settings s_;
  std::shared_ptr<const s2lc::Encoding> enc_;
  bool computed_here_ = false;
  std::vector<Projection> proj_;
  DeviceAdapterBatch batch_;
  DeviceBuffer<kernels::S2lcProjectionArgs> args_;
  GroupedGemm base_;
  int max_d_in_ = 0;
};

}  // namespace
LRBENCH_REGISTER_BACKEND("s2lc", cuda, S2lcCuda);
}  // namespace lrb::cuda
