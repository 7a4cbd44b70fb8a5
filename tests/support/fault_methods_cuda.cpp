// A CUDA-only test method (no CPU implementation, checked against base_only's CPU path on the GPU): the
// base GEMM through cuBLAS into the guarded device outputs, and in mode past_end one element written past
// the last output, which the correctness pass must catch and name.
#include <cuda_fp16.h>

#include "harness/registry.hpp"
#include "workloads/adapter_projection/device_data.hpp"

namespace lrb::test {
namespace {

class CudaOutOfBounds final : public cuda::CudaAdapterMethod {
 public:
  explicit CudaOutOfBounds(const Params& p) : past_end_(p.string("mode") == "past_end") {}
  void prepare(const Problem& problem, ExecContext& ctx) override {
    bind(problem, ctx);
    w_.clear();
    x_.clear();
    for (const auto& proj : p_->projections) {
      w_.push_back(cuda::upload_half(proj.W, ctx_->stream()));
      x_.push_back(cuda::upload_half(proj.X, ctx_->stream()));
    }
  }
  void run(ExecContext&) override {
    for (std::size_t i = 0; i < w_.size(); ++i) {
      const auto& proj = p_->projections[i];
      cuda::gemm_tn(*ctx_, proj.d_out, p_->batch, proj.d_in, 1.0f, w_[i].data(), proj.d_in, x_[i].data(), proj.d_in,
                    0.0f, y_[i].data(), proj.d_out);
    }
    if (past_end_) {
      const __half one = __float2half(1.0f);
      LRB_CUDA_CHECK(cudaMemcpyAsync(y_.back().data() + y_.back().size(), &one, sizeof(one), cudaMemcpyHostToDevice,
                                     ctx_->stream()));
    }
  }
  Footprint footprint() const override { return {{{"base_weights", bytes_of(w_)}}}; }

 private:
  bool past_end_;
  std::vector<cuda::DeviceBuffer<__half>> w_, x_;
};

}  // namespace

LRBENCH_DECLARE_METHOD(adapter_projection, "test_cuda_only",
                       {.description = "test only: CUDA-only base GEMM, optionally writing past its output",
                        .params = {{"mode", ParamType::string, "none", "none or past_end", {}, {}, {"none", "past_end"}}},
                        .traits = {.target = "base", .reference = "base_only"},
                        .supports = [](const Point& point, const Params&) {
                          return point.params().string("mode") == "adapter-only"
                                     ? Support::no("base GEMM only: nothing to run in adapter-only mode")
                                     : Support::yes();
                        },
                        .hidden = true});
LRBENCH_REGISTER_BACKEND("test_cuda_only", cuda, CudaOutOfBounds);

}  // namespace lrb::test
