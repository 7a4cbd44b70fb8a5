// int8_per_token, CUDA path: one block per (layer, token) vector; the blob has the CPU path's layout
// (header, K scales, K codes, V scales, V codes), byte for byte.
#include "harness/registry.hpp"
#include "methods/int8_per_token/int8_format.hpp"
#include "kernels/kv_compression/int8_per_token.cuh"
#include "workloads/kv_compression/device_data.hpp"

namespace lrb::cuda {
namespace {

using int8_per_token::kMagic;

class Int8PerTokenCuda final : public CudaKvMethod {
 public:
  explicit Int8PerTokenCuda(const Params&) {}
  void prepare(const Problem& problem, ExecContext& ctx) override {
    bind(problem, ctx);
    vectors_ = static_cast<std::size_t>(p_->keys.layers) * p_->keys.tokens;
    width_ = static_cast<int>(p_->keys.token_width());
    allocate_blob(sizeof(KvBlobHeader) + 2 * (vectors_ * sizeof(__half) + vectors_ * width_), kMagic);
  }
  void compress(ExecContext&) override {
    auto [ks, kc, vs, vc] = sections();
    kernels::launch_int8_encode(k_.data(), vectors_, width_, ks, kc, ctx_->stream());
    LRB_CUDA_CHECK_LAUNCH();
    kernels::launch_int8_encode(v_.data(), vectors_, width_, vs, vc, ctx_->stream());
    LRB_CUDA_CHECK_LAUNCH();
  }
  void decompress(ExecContext&) override {
    auto [ks, kc, vs, vc] = sections();
    kernels::launch_int8_decode(ks, kc, vectors_, width_, k_out_.data(), ctx_->stream());
    LRB_CUDA_CHECK_LAUNCH();
    kernels::launch_int8_decode(vs, vc, vectors_, width_, v_out_.data(), ctx_->stream());
    LRB_CUDA_CHECK_LAUNCH();
  }
  KvSizes measure_sizes(ExecContext&) override { return {blob_size_, blob_size_, 0, 0, 0}; }
  Footprint footprint() const override { return {{{"blob", blob_size_}}}; }

 private:
  std::tuple<__half*, std::int8_t*, __half*, std::int8_t*> sections() {
    std::uint8_t* at = blob_.data() + sizeof(KvBlobHeader);
    const std::size_t scale_bytes = vectors_ * sizeof(__half), code_bytes = vectors_ * width_;
    auto* ks = reinterpret_cast<__half*>(at);
    auto* kc = reinterpret_cast<std::int8_t*>(at + scale_bytes);
    auto* vs = reinterpret_cast<__half*>(at + scale_bytes + code_bytes);
    auto* vc = reinterpret_cast<std::int8_t*>(at + 2 * scale_bytes + code_bytes);
    return {ks, kc, vs, vc};
  }
  std::size_t vectors_ = 0;
  int width_ = 0;
};

}  // namespace
LRBENCH_REGISTER_BACKEND("int8_per_token", cuda, Int8PerTokenCuda);
}  // namespace lrb::cuda
