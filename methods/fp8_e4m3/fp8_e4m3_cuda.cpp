// fp8_e4m3, CUDA path: per (tensor, layer) amax, then the cast (kernels/kv_compression/baselines.cuh). The
// blob is the CPU path's byte for byte: header, then per tensor and layer the fp32 scale and the codes.
#include "harness/registry.hpp"
#include "kernels/kv_compression/baselines.cuh"
#include "methods/fp8_e4m3/fp8_format.hpp"
#include "workloads/kv_compression/device_data.hpp"

namespace lrb::cuda {
namespace {

using fp8_e4m3::kMagic;

class Fp8Cuda final : public CudaKvMethod {
 public:
  explicit Fp8Cuda(const Params&) {}
  void prepare(const Problem& problem, ExecContext& ctx) override {
    bind(problem, ctx);
    per_layer_ = static_cast<std::size_t>(p_->keys.tokens) * p_->keys.token_width();
    tensor_bytes_ = static_cast<std::size_t>(p_->keys.layers) * (sizeof(float) + per_layer_);
    allocate_blob(sizeof(KvBlobHeader) + 2 * tensor_bytes_, kMagic);
    amax_.allocate(2 * static_cast<std::size_t>(std::max(p_->keys.layers, 1)));
  }
  void compress(ExecContext&) override {
    const cudaStream_t st = ctx_->stream();
    const int L = p_->keys.layers;
    LRB_CUDA_CHECK(cudaMemsetAsync(amax_.data(), 0, amax_.size() * sizeof(unsigned), st));
    for (int which = 0; which < 2; ++which) {
      const __half* x = (which == 0 ? k_ : v_).data();
      kernels::baselines::launch_fp8_amax(x, L, per_layer_, amax_.data() + which * L, st);
      LRB_CUDA_CHECK_LAUNCH();
      kernels::baselines::launch_fp8_encode(x, L, per_layer_, amax_.data() + which * L, section(which), st);
      LRB_CUDA_CHECK_LAUNCH();
    }
  }
  void decompress(ExecContext&) override {
    for (int which = 0; which < 2; ++which) {
      kernels::baselines::launch_fp8_decode(section(which), p_->keys.layers, per_layer_,
                                            (which == 0 ? k_out_ : v_out_).data(), ctx_->stream());
      LRB_CUDA_CHECK_LAUNCH();
    }
  }
  KvSizes measure_sizes(ExecContext&) override { return {blob_size_, blob_size_, 0, 0, 0}; }
  Footprint footprint() const override { return {{{"blob", blob_size_}}}; }

 private:
  std::uint8_t* section(int which) { return blob_.data() + sizeof(KvBlobHeader) + which * tensor_bytes_; }
  std::size_t per_layer_ = 0, tensor_bytes_ = 0;
  DeviceBuffer<unsigned> amax_;
};

}  // namespace
LRBENCH_REGISTER_BACKEND("fp8_e4m3", cuda, Fp8Cuda);
}  // namespace lrb::cuda
