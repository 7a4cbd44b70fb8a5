#pragma once
// Shared pieces of the lowrank_linear CUDA paths (included by *_cuda.cpp files only).
#include <cuda_fp16.h>

#include "harness/cuda/cuda_context.hpp"
#include "harness/cuda/device_buffer.hpp"
#include "harness/cuda/gemm.hpp"
#include "workloads/lowrank_linear/method_base.hpp"

namespace lrb::cuda {

template <class M>
DeviceBuffer<__half> upload_matrix(const M& m, cudaStream_t stream) {
  DeviceBuffer<__half> b;
  b.upload(reinterpret_cast<const __half*>(m.data()), static_cast<std::size_t>(m.size()), stream);
  return b;
}

class CudaLowrankMethod : public LowrankLinearMethod {
 public:
  void poison_output() override { poison_half(y_.data(), y_.size(), ctx_->stream()); }
  const MatrixF& output() override {
    std::vector<Half> buf(y_.size());
    y_.download(reinterpret_cast<__half*>(buf.data()), ctx_->stream());
    ctx_->synchronize();
    host_ = Eigen::Map<const MatrixH>(buf.data(), p_->tokens, p_->d_out).cast<float>();
    return host_;
  }

 protected:
  void bind(const Problem& problem, ExecContext& ctx) {
    p_ = &static_cast<const LowrankProblem&>(problem);
    ctx_ = &cuda_context(ctx);
    x_ = upload_matrix(p_->X, ctx_->stream());
    y_.allocate(static_cast<std::size_t>(p_->tokens) * p_->d_out);
  }
  const LowrankProblem* p_ = nullptr;
  CudaContext* ctx_ = nullptr;
  DeviceBuffer<__half> x_, y_;
  MatrixF host_;
};

}  // namespace lrb::cuda
