#pragma once
// Shared pieces of the kv_compression CUDA paths: the cache on the device, the blob on the device, and
// the restored cache in guarded output buffers (included by *_cuda.cpp files only).
#include <cuda_fp16.h>

#include <stdexcept>
#include <vector>

#include <fmt/format.h>

#include "harness/cuda/cuda_context.hpp"
#include "harness/cuda/device_buffer.hpp"
#include "harness/cuda/gemm.hpp"
#include "workloads/kv_compression/blob.hpp"
#include "workloads/kv_compression/method_base.hpp"

namespace lrb::cuda {

class CudaKvMethod : public KvCompressionMethod {
 public:
  std::vector<OutputView> outputs() override { return {view("keys", k_out_), view("values", v_out_)}; }
  std::vector<std::uint8_t> blob_on_host(ExecContext&) override {
    std::vector<std::uint8_t> out(blob_size_);
    LRB_CUDA_CHECK(cudaMemcpyAsync(out.data(), blob_.data(), blob_size_, cudaMemcpyDeviceToHost, ctx_->stream()));
    ctx_->synchronize();
    return out;
  }
  void blob_from_host(ExecContext&, const std::vector<std::uint8_t>& blob) override {
    if (blob.size() > blob_.size())
      throw std::invalid_argument(fmt::format("blob of {} bytes for a device blob of {}", blob.size(), blob_.size()));
    LRB_CUDA_CHECK(cudaMemcpyAsync(blob_.data(), blob.data(), blob.size(), cudaMemcpyHostToDevice, ctx_->stream()));
    ctx_->synchronize();
    blob_size_ = blob.size();
  }

 protected:
  void bind(const Problem& problem, ExecContext& ctx) {
    p_ = &static_cast<const KvProblem&>(problem);
    ctx_ = &cuda_context(ctx);
    k_.upload(reinterpret_cast<const __half*>(p_->keys.data.data()), p_->keys.size(), ctx_->stream());
    v_.upload(reinterpret_cast<const __half*>(p_->values.data.data()), p_->values.size(), ctx_->stream());
    allocate_output(k_out_, p_->keys.size());
    allocate_output(v_out_, p_->values.size());
  }
  // Allocates the device blob and writes the header at its start (the header never changes).
  void allocate_blob(std::size_t bytes, std::uint32_t magic) {
    blob_size_ = bytes;
    blob_.allocate(bytes);
    const KvBlobHeader h{magic, static_cast<std::uint32_t>(p_->keys.layers), static_cast<std::uint32_t>(p_->keys.tokens),
                         static_cast<std::uint32_t>(p_->keys.heads), static_cast<std::uint32_t>(p_->keys.head_dim)};
    LRB_CUDA_CHECK(cudaMemcpy(blob_.data(), &h, sizeof(h), cudaMemcpyHostToDevice));
  }
  OutputView view(const char* name, DeviceBuffer<__half>& d) const {
    return {name,
            Memory::device,
            DType::f16,
            d.data(),
            static_cast<std::size_t>(p_->keys.layers) * p_->keys.tokens * p_->keys.heads,
            static_cast<std::size_t>(p_->keys.head_dim),
            d.guard_elements()};
  }

  const KvProblem* p_ = nullptr;
  CudaContext* ctx_ = nullptr;
  DeviceBuffer<__half> k_, v_, k_out_, v_out_;
  DeviceBuffer<std::uint8_t> blob_;
  std::size_t blob_size_ = 0;
};

}  // namespace lrb::cuda
