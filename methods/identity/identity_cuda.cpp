// identity, CUDA path: device-to-device copies of the cache into the blob (after its header) and back.
#include "harness/registry.hpp"
#include "methods/identity/identity_format.hpp"
#include "workloads/kv_compression/device_data.hpp"

namespace lrb::cuda {
namespace {

using identity::kMagic;

class IdentityCuda final : public CudaKvMethod {
 public:
  explicit IdentityCuda(const Params&) {}
  std::vector<std::pair<int, int>> raw_tokens() const override { return {{0, p_ ? p_->keys.tokens : 0}}; }

  void prepare(const Problem& problem, ExecContext& ctx) override {
    bind(problem, ctx);
    allocate_blob(sizeof(KvBlobHeader) + p_->original_bytes(), kMagic);
  }
  void compress(ExecContext&) override {
    std::uint8_t* at = blob_.data() + sizeof(KvBlobHeader);
    LRB_CUDA_CHECK(cudaMemcpyAsync(at, k_.data(), k_.bytes(), cudaMemcpyDeviceToDevice, ctx_->stream()));
    LRB_CUDA_CHECK(cudaMemcpyAsync(at + k_.bytes(), v_.data(), v_.bytes(), cudaMemcpyDeviceToDevice, ctx_->stream()));
  }
  void decompress(ExecContext&) override {
    const std::uint8_t* at = blob_.data() + sizeof(KvBlobHeader);
    LRB_CUDA_CHECK(cudaMemcpyAsync(k_out_.data(), at, k_out_.bytes(), cudaMemcpyDeviceToDevice, ctx_->stream()));
    LRB_CUDA_CHECK(
        cudaMemcpyAsync(v_out_.data(), at + k_out_.bytes(), v_out_.bytes(), cudaMemcpyDeviceToDevice, ctx_->stream()));
  }
  KvSizes measure_sizes(ExecContext&) override {
    return {blob_size_, blob_size_, p_ ? p_->original_bytes() : 0, 0, 0};
  }
  Footprint footprint() const override { return {{{"blob", blob_size_}}}; }
};

}  // namespace
LRBENCH_REGISTER_BACKEND("identity", cuda, IdentityCuda);
}  // namespace lrb::cuda
