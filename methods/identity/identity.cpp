// identity: the blob is the cache itself (plus a header); decompress copies it back. The floor of
// kv_compression: any method must beat its time to be worth its error. Bit-exact by construction.
#include <cstring>

#include "harness/registry.hpp"
#include "methods/identity/identity_format.hpp"
#include "workloads/kv_compression/blob.hpp"
#include "workloads/kv_compression/method_base.hpp"

namespace lrb {
namespace {

using identity::kMagic;

class Identity final : public CpuKvMethod {
 public:
  explicit Identity(const Params&) {}
  std::vector<std::pair<int, int>> raw_tokens() const override { return {{0, p_ ? p_->keys.tokens : 0}}; }

  void prepare(const Problem& problem, ExecContext&) override {
    p_ = &static_cast<const KvProblem&>(problem);
    allocate_outputs(*p_);
    blob_.reserve(sizeof(KvBlobHeader) + p_->original_bytes());
  }
  void compress(ExecContext&) override {
    BlobWriter w(blob_);
    w.put(KvBlobHeader{kMagic, static_cast<std::uint32_t>(p_->keys.layers), static_cast<std::uint32_t>(p_->keys.tokens),
                       static_cast<std::uint32_t>(p_->keys.heads), static_cast<std::uint32_t>(p_->keys.head_dim)});
    w.put_bytes(p_->keys.data.data(), p_->keys.bytes());
    w.put_bytes(p_->values.data.data(), p_->values.bytes());
  }
  void decompress(ExecContext&) override {
    BlobReader r(blob_);
    const auto h = r.get<KvBlobHeader>();
    if (h.magic != kMagic) throw std::runtime_error("identity: not an identity blob");
    std::memcpy(keys_out_.data.data(), r.take(keys_out_.bytes()), keys_out_.bytes());
    std::memcpy(values_out_.data.data(), r.take(values_out_.bytes()), values_out_.bytes());
  }
  KvSizes measure_sizes(ExecContext&) override {
    KvSizes s;
    s.blob_bytes = blob_.size();
    s.capacity_bytes = blob_.capacity();
    s.raw_token_bytes = p_ ? p_->original_bytes() : 0;
    return s;
  }
  Footprint footprint() const override { return {{{"blob", blob_.size()}}}; }
};

}  // namespace

LRBENCH_DECLARE_METHOD(kv_compression, "identity",
                       {.description = "copy the fp16 cache into the blob and back (floor, lossless)",
                        .traits = {.tolerance = 0.0}});
LRBENCH_REGISTER_BACKEND("identity", cpu, Identity);
}  // namespace lrb
