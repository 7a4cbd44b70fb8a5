#pragma once
// The non-GEMM steps of the Llama forward pass on the GPU (the GEMMs are cuBLAS): fp32 activations, fp16
// GEMM inputs. One purpose each; launched on the given stream.
#include <cuda_fp16.h>
#include <cuda_runtime.h>

namespace lrb::kernels {

// x[t, :] = fp32(embedding[ids[t], :]) for t < n.
void launch_embed(const __half* embedding, const int* ids, int n, int dim, float* x, cudaStream_t s);
// out[t, :] = fp16(x[t, :] / sqrt(mean(x[t]^2) + eps) * gain).
void launch_rms_norm(const float* x, const float* gain, int n, int dim, float eps, __half* out, cudaStream_t s);
// RoPE in place on rows [n x heads*head_dim] at positions p0 + t: pairs (2i, 2i+1) when interleaved, else
// (i, i + rotary/2); theta_i = base^(-2i/rotary) (angles in double).
void launch_rope(float* x, int n, int heads, int head_dim, int rotary, double base, bool interleaved, int p0,
                 cudaStream_t s);
// Causal GQA attention of n queries at positions p0 .. p0+n-1 over cached keys/values [0, p0+n):
// o[t, h*hd:(h+1)*hd] = softmax(q_h k_g^T / sqrt(hd)) v_g, g = h / (heads / kv_heads); o in fp16.
void launch_attention(const float* q, const float* k, const float* v, int n, int p0, int heads, int kv_heads,
                      int head_dim, __half* o, cudaStream_t s);
// out = fp16(silu(gate) * up), elementwise over `count`.
void launch_silu_mul(const float* gate, const float* up, std::size_t count, __half* out, cudaStream_t s);

}  // namespace lrb::kernels
