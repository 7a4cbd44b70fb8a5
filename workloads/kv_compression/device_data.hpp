#pragma once
// Shared pieces of the kv_compression CUDA paths: the cache on the device, the blob on the device, and
// the restored cache with poisoning and download (included by *_cuda.cpp files only).
#include <cuda_fp16.h>

#include <vector>

#include "harness/cuda/cuda_context.hpp"
#include "harness/cuda/device_buffer.hpp"
#include "harness/cuda/gemm.hpp"
#include "workloads/kv_compression/blob.hpp"
#include "workloads/kv_compression/method_base.hpp"

namespace lrb::cuda {

class CudaKvMethod : public KvCompressionMethod {
 public:
  void poison_output() override {
    poison_half(k_out_.data(), k_out_.size(), ctx_->stream());
    poison_half(v_out_.data(), v_out_.size(), ctx_->stream());
  }
  const KvTensor& restored_keys() override { return download(k_out_, host_k_); }
  const KvTensor& restored_values() override { return download(v_out_, host_v_); }
  // The blob as bytes on the host (tests compare it with the CPU path's blob).
  std::vector<std::uint8_t> blob_bytes_on_host() {
    std::vector<std::uint8_t> out(blob_size_);
    LRB_CUDA_CHECK(cudaMemcpyAsync(out.data(), blob_.data(), blob_size_, cudaMemcpyDeviceToHost, ctx_->stream()));
    ctx_->synchronize();
    return out;
  }

 protected:
  void bind(const Problem& problem, ExecContext& ctx) {
    p_ = &static_cast<const KvProblem&>(problem);
    ctx_ = &cuda_context(ctx);
    k_.upload(reinterpret_cast<const __half*>(p_->keys.data.data()), p_->keys.size(), ctx_->stream());
    v_.upload(reinterpret_cast<const __half*>(p_->values.data.data()), p_->values.size(), ctx_->stream());
    k_out_.allocate(p_->keys.size());
    v_out_.allocate(p_->values.size());
    host_k_ = KvTensor(p_->keys.layers, p_->keys.tokens, p_->keys.heads, p_->keys.head_dim);
    host_v_ = host_k_;
  }
  // Allocates the device blob and writes the header at its start (the header never changes).
  void allocate_blob(std::size_t bytes, std::uint32_t magic) {
    blob_size_ = bytes;
    blob_.allocate(bytes);
    const KvBlobHeader h{magic, static_cast<std::uint32_t>(p_->keys.layers), static_cast<std::uint32_t>(p_->keys.tokens),
                         static_cast<std::uint32_t>(p_->keys.heads), static_cast<std::uint32_t>(p_->keys.head_dim)};
    LRB_CUDA_CHECK(cudaMemcpy(blob_.data(), &h, sizeof(h), cudaMemcpyHostToDevice));
  }
  const KvTensor& download(const DeviceBuffer<__half>& d, KvTensor& host) {
    d.download(reinterpret_cast<__half*>(host.data.data()), ctx_->stream());
    ctx_->synchronize();
    return host;
  }

  const KvProblem* p_ = nullptr;
  CudaContext* ctx_ = nullptr;
  DeviceBuffer<__half> k_, v_, k_out_, v_out_;
  DeviceBuffer<std::uint8_t> blob_;
  std::size_t blob_size_ = 0;
  KvTensor host_k_, host_v_;
};

}  // namespace lrb::cuda
