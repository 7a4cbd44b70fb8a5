// kivi and int4_per_token, CUDA paths: the params and codes kernels of kernels/kv_compression/baselines.cuh
// and the raw tokens copied as one strided copy per tensor. The blob is the CPU path's byte for byte
// (methods/kivi/kivi_scheme.hpp), checked by the GPU conformance test.
#include "harness/registry.hpp"
#include "kernels/kv_compression/baselines.cuh"
#include "methods/kivi/kivi_scheme.hpp"
#include "workloads/kv_compression/device_data.hpp"

namespace lrb::cuda {
namespace {

namespace kb = kernels::baselines;

class GroupQuantCuda : public CudaKvMethod {
 public:
  GroupQuantCuda(const Params& p, bool kivi) : s_(kivi::Scheme::of(p, kivi)) {}

  void prepare(const Problem& problem, ExecContext& ctx) override {
    bind(problem, ctx);
    const KvTensor& k = p_->keys;
    q_ = s_.quantized(k.tokens);
    std::size_t at = sizeof(KvBlobHeader) + 4 * sizeof(std::uint32_t);
    for (int which = 0; which < 2; ++which) {
      Section& sec = sections_[which];
      sec.scheme = {k.layers, k.tokens, k.heads, k.head_dim, q_, s_.bits, s_.group, which == 0 && s_.keys_per_channel};
      sec.params = at;
      sec.codes = sec.params + 4 * static_cast<std::size_t>(sec.scheme.groups());
      sec.raw = sec.codes + static_cast<std::size_t>(sec.scheme.code_bytes());
      at = sec.raw + raw_bytes_per_tensor();
    }
    allocate_blob(at, kivi::kMagic);
    const std::uint32_t fields[4] = {static_cast<std::uint32_t>(s_.keys_per_channel), static_cast<std::uint32_t>(s_.bits),
                                     static_cast<std::uint32_t>(s_.group), static_cast<std::uint32_t>(q_)};
    LRB_CUDA_CHECK(cudaMemcpy(blob_.data() + sizeof(KvBlobHeader), fields, sizeof(fields), cudaMemcpyHostToDevice));
  }

  std::vector<std::pair<int, int>> raw_tokens() const override {
    if (q_ >= p_->keys.tokens) return {};
    return {{q_, p_->keys.tokens}};
  }

  void compress(ExecContext&) override {
    for (int which = 0; which < 2; ++which) {
      const Section& sec = sections_[which];
      const __half* x = (which == 0 ? k_ : v_).data();
      kb::launch_group_encode(x, sec.scheme, blob_.data() + sec.params, blob_.data() + sec.codes, ctx_->stream());
      LRB_CUDA_CHECK_LAUNCH();
      copy_raw(const_cast<__half*>(x), blob_.data() + sec.raw, true);
    }
  }
  void decompress(ExecContext&) override {
    for (int which = 0; which < 2; ++which) {
      const Section& sec = sections_[which];
      __half* x = (which == 0 ? k_out_ : v_out_).data();
      kb::launch_group_decode(blob_.data() + sec.params, blob_.data() + sec.codes, sec.scheme, x, ctx_->stream());
      LRB_CUDA_CHECK_LAUNCH();
      copy_raw(x, blob_.data() + sec.raw, false);
    }
  }

  KvSizes measure_sizes(ExecContext&) override {
    KvSizes s;
    s.blob_bytes = s.capacity_bytes = blob_size_;
    s.raw_token_bytes = 2 * raw_bytes_per_tensor();
    return s;
  }
  Footprint footprint() const override { return {{{"blob", blob_size_}}}; }

 private:
  struct Section {
    kb::GroupScheme scheme;
    std::size_t params = 0, codes = 0, raw = 0;  // byte offsets in the blob
  };
  std::size_t raw_bytes_per_tensor() const {
    const KvTensor& k = p_->keys;
    return static_cast<std::size_t>(k.layers) * (k.tokens - q_) * k.token_width() * sizeof(__half);
  }
  // Tokens [q, tokens) of every layer: one strided copy between the cache and the blob's raw section.
  void copy_raw(__half* cache, std::uint8_t* raw, bool to_blob) {
    const KvTensor& k = p_->keys;
    const std::size_t row = static_cast<std::size_t>(k.tokens - q_) * k.token_width() * sizeof(__half);
    if (row == 0) return;
    const std::size_t pitch = static_cast<std::size_t>(k.tokens) * k.token_width() * sizeof(__half);
    std::uint8_t* in_cache = reinterpret_cast<std::uint8_t*>(cache) + static_cast<std::size_t>(q_) * k.token_width() * sizeof(__half);
    if (to_blob)
      LRB_CUDA_CHECK(cudaMemcpy2DAsync(raw, row, in_cache, pitch, row, k.layers, cudaMemcpyDeviceToDevice, ctx_->stream()));
    else
      LRB_CUDA_CHECK(cudaMemcpy2DAsync(in_cache, pitch, raw, row, row, k.layers, cudaMemcpyDeviceToDevice, ctx_->stream()));
  }

  kivi::Scheme s_;
  int q_ = 0;
  Section sections_[2];
};

class KiviCuda final : public GroupQuantCuda {
 public:
  explicit KiviCuda(const Params& p) : GroupQuantCuda(p, true) {}
};
class Int4PerTokenCuda final : public GroupQuantCuda {
 public:
  explicit Int4PerTokenCuda(const Params& p) : GroupQuantCuda(p, false) {}
};

}  // namespace
LRBENCH_REGISTER_BACKEND("kivi", cuda, KiviCuda);
LRBENCH_REGISTER_BACKEND("int4_per_token", cuda, Int4PerTokenCuda);
}  // namespace lrb::cuda
