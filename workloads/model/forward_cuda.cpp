// The Llama forward pass on CUDA: weights uploaded once as fp16, activations and the KV cache in fp32,
// cuBLAS GEMMs (fp16 inputs, fp32 compute and output), the other steps in kernels/model/llama_kernels.cu.
#include <cuda_fp16.h>

#include <fmt/format.h>

#include "harness/cuda/cuda_context.hpp"
#include "harness/cuda/device_buffer.hpp"
#include "kernels/model/llama_kernels.cuh"
#include "workloads/model/forward.hpp"

namespace lrb::model {
namespace {

using cuda::DeviceBuffer;

DeviceBuffer<__half> to_half(const MatrixF& m, cudaStream_t s) {
  std::vector<Half> h(static_cast<std::size_t>(m.size()));
  for (std::size_t i = 0; i < h.size(); ++i) h[i] = Half(m.data()[i]);
  DeviceBuffer<__half> b;
  b.upload(reinterpret_cast<const __half*>(h.data()), h.size(), s);
  LRB_CUDA_CHECK(cudaStreamSynchronize(s));  // the host copy dies here
  return b;
}
DeviceBuffer<float> to_device(const std::vector<float>& v, cudaStream_t s) {
  DeviceBuffer<float> b;
  b.upload(v.data(), v.size(), s);
  LRB_CUDA_CHECK(cudaStreamSynchronize(s));
  return b;
}

class LlamaCudaRunner final : public ModelRunner {
 public:
  LlamaCudaRunner(std::shared_ptr<const LlamaWeights> w, int capacity) : w_(std::move(w)), capacity_(capacity) {
    const LlamaConfig& c = w_->config;
    const cudaStream_t s = ctx_.stream();
    embedding_ = to_half(w_->token_embedding, s);
    if (!c.tied_head) head_ = to_half(w_->output, s);
    output_norm_ = to_device(w_->output_norm, s);
    for (const auto& l : w_->layers) {
      Layer d;
      d.attn_norm = to_device(l.attn_norm, s);
      d.ffn_norm = to_device(l.ffn_norm, s);
      d.wq = to_half(l.wq, s), d.wk = to_half(l.wk, s), d.wv = to_half(l.wv, s), d.wo = to_half(l.wo, s);
      d.gate = to_half(l.w_gate, s), d.up = to_half(l.w_up, s), d.down = to_half(l.w_down, s);
      d.k.allocate(static_cast<std::size_t>(capacity) * c.kv_dim());
      d.v.allocate(static_cast<std::size_t>(capacity) * c.kv_dim());
      layers_.push_back(std::move(d));
    }
  }

  void reset() override { length_ = 0; }

  MatrixF forward(const std::vector<int>& tokens) override {
    const LlamaConfig& c = w_->config;
    const int n = static_cast<int>(tokens.size()), p0 = length_;
    if (p0 + n > capacity_)
      throw std::runtime_error(fmt::format("KV cache of {} positions cannot take {} more after {}", capacity_, n, p0));
    for (int t : tokens)
      if (t < 0 || t >= c.vocab) throw std::runtime_error(fmt::format("token {} outside the vocabulary", t));
    const cudaStream_t s = ctx_.stream();
    DeviceBuffer<int> ids;
    ids.upload(tokens.data(), tokens.size(), s);
    DeviceBuffer<float> x(static_cast<std::size_t>(n) * c.dim), q(static_cast<std::size_t>(n) * c.dim);
    DeviceBuffer<float> gate(static_cast<std::size_t>(n) * c.hidden), up(static_cast<std::size_t>(n) * c.hidden);
    DeviceBuffer<__half> h(static_cast<std::size_t>(n) * c.dim), o(static_cast<std::size_t>(n) * c.dim);
    DeviceBuffer<__half> act(static_cast<std::size_t>(n) * c.hidden);
    kernels::launch_embed(embedding_.data(), ids.data(), n, c.dim, x.data(), s);
    const float eps = static_cast<float>(c.rms_eps);
    const bool inter = c.rope_style == RopeStyle::interleaved;
    for (auto& L : layers_) {
      kernels::launch_rms_norm(x.data(), L.attn_norm.data(), n, c.dim, eps, h.data(), s);
      gemm(L.wq.data(), c.dim, c.dim, h.data(), n, q.data(), 0.0f);
      float* k_new = L.k.data() + static_cast<std::size_t>(p0) * c.kv_dim();
      float* v_new = L.v.data() + static_cast<std::size_t>(p0) * c.kv_dim();
      gemm(L.wk.data(), c.kv_dim(), c.dim, h.data(), n, k_new, 0.0f);
      gemm(L.wv.data(), c.kv_dim(), c.dim, h.data(), n, v_new, 0.0f);
      kernels::launch_rope(q.data(), n, c.heads, c.head_dim, c.rotary_dims, c.rope_theta, inter, p0, s);
      kernels::launch_rope(k_new, n, c.kv_heads, c.head_dim, c.rotary_dims, c.rope_theta, inter, p0, s);
      kernels::launch_attention(q.data(), L.k.data(), L.v.data(), n, p0, c.heads, c.kv_heads, c.head_dim, o.data(), s);
      LRB_CUDA_CHECK_LAUNCH();
      gemm(L.wo.data(), c.dim, c.dim, o.data(), n, x.data(), 1.0f);  // x += o Wo^T
      kernels::launch_rms_norm(x.data(), L.ffn_norm.data(), n, c.dim, eps, h.data(), s);
      gemm(L.gate.data(), c.hidden, c.dim, h.data(), n, gate.data(), 0.0f);
      gemm(L.up.data(), c.hidden, c.dim, h.data(), n, up.data(), 0.0f);
      kernels::launch_silu_mul(gate.data(), up.data(), static_cast<std::size_t>(n) * c.hidden, act.data(), s);
      gemm(L.down.data(), c.dim, c.hidden, act.data(), n, x.data(), 1.0f);  // x += act Wdown^T
    }
    kernels::launch_rms_norm(x.data(), output_norm_.data(), n, c.dim, eps, h.data(), s);
    DeviceBuffer<float> logits(static_cast<std::size_t>(n) * c.vocab);
    gemm(c.tied_head ? embedding_.data() : head_.data(), c.vocab, c.dim, h.data(), n, logits.data(), 0.0f);
    LRB_CUDA_CHECK_LAUNCH();
    MatrixF out(n, c.vocab);
    logits.download(out.data(), s);
    LRB_CUDA_CHECK(cudaStreamSynchronize(s));
    length_ = p0 + n;
    return out;
  }

 private:
  struct Layer {
    DeviceBuffer<float> attn_norm, ffn_norm, k, v;
    DeviceBuffer<__half> wq, wk, wv, wo, gate, up, down;
  };
  // Y[n x out] (+)= X[n x in] W^T with W row-major [out x in]: column-major, Y^T = W^T^T X^T.
  void gemm(const __half* W, int out, int in, const __half* X, int n, float* Y, float beta) {
    const float alpha = 1.0f;
    LRB_CUBLAS_CHECK(cublasGemmEx(ctx_.cublas(), CUBLAS_OP_T, CUBLAS_OP_N, out, n, in, &alpha, W, CUDA_R_16F, in, X,
                                  CUDA_R_16F, in, &beta, Y, CUDA_R_32F, out, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT));
  }
  std::shared_ptr<const LlamaWeights> w_;
  int capacity_ = 0, length_ = 0;
  cuda::CudaContext ctx_;
  DeviceBuffer<__half> embedding_, head_;
  DeviceBuffer<float> output_norm_;
  std::vector<Layer> layers_;
};

}  // namespace

std::unique_ptr<ModelRunner> make_cuda_runner(std::shared_ptr<const LlamaWeights> weights, int capacity) {
  int devices = 0;
  if (cudaGetDeviceCount(&devices) != cudaSuccess || devices == 0) return nullptr;
  return std::make_unique<LlamaCudaRunner>(std::move(weights), capacity);
}

}  // namespace lrb::model
