#include "kernels/model/llama_kernels.cuh"

namespace lrb::kernels {
namespace {

__global__ void embed(const __half* emb, const int* ids, int dim, float* x) {
  const int t = blockIdx.x;
  const __half* row = emb + static_cast<size_t>(ids[t]) * dim;
  for (int i = threadIdx.x; i < dim; i += blockDim.x) x[static_cast<size_t>(t) * dim + i] = __half2float(row[i]);
}

// One block per row; the sum of squares reduced through shared memory.
__global__ void rms_norm(const float* x, const float* gain, int dim, float eps, __half* out) {
  __shared__ float partial[256];
  const float* r = x + static_cast<size_t>(blockIdx.x) * dim;
  float s = 0;
  for (int i = threadIdx.x; i < dim; i += blockDim.x) s += r[i] * r[i];
  partial[threadIdx.x] = s;
  __syncthreads();
  for (int w = blockDim.x / 2; w > 0; w /= 2) {
    if (threadIdx.x < w) partial[threadIdx.x] += partial[threadIdx.x + w];
    __syncthreads();
  }
  const float inv = rsqrtf(partial[0] / dim + eps);
  for (int i = threadIdx.x; i < dim; i += blockDim.x)
    out[static_cast<size_t>(blockIdx.x) * dim + i] = __float2half(r[i] * inv * gain[i]);
}

__global__ void rope(float* x, int heads, int head_dim, int rotary, double base, bool interleaved, int p0) {
  const int t = blockIdx.x, half = rotary / 2;
  for (int j = threadIdx.x; j < heads * half; j += blockDim.x) {
    const int h = j / half, i = j % half;
    const double angle = static_cast<double>(p0 + t) * pow(base, -2.0 * i / rotary);
    const float cs = static_cast<float>(cos(angle)), sn = static_cast<float>(sin(angle));
    float* v = x + (static_cast<size_t>(t) * heads + h) * head_dim;
    const int a = interleaved ? 2 * i : i, b = interleaved ? 2 * i + 1 : i + half;
    const float xa = v[a], xb = v[b];
    v[a] = xa * cs - xb * sn;
    v[b] = xa * sn + xb * cs;
  }
}

// One block per (query, head): scores for every seen position in shared memory (dynamic: p0 + n floats),
// then softmax and the weighted sum of values. A check of the model, not a benchmark kernel.
__global__ void attention(const float* q, const float* k, const float* v, int p0, int heads, int kv_heads,
                          int head_dim, __half* o) {
  extern __shared__ float scores[];
  __shared__ float red[256];
  const int t = blockIdx.x, h = blockIdx.y, g = h / (heads / kv_heads), seen = p0 + t + 1;
  const int dim = heads * head_dim, kv_dim = kv_heads * head_dim;
  const float* qh = q + static_cast<size_t>(t) * dim + h * head_dim;
  const float scale = rsqrtf(static_cast<float>(head_dim));
  float m = -INFINITY;
  for (int j = threadIdx.x; j < seen; j += blockDim.x) {
    const float* kj = k + static_cast<size_t>(j) * kv_dim + g * head_dim;
    float s = 0;
    for (int d = 0; d < head_dim; ++d) s += qh[d] * kj[d];
    scores[j] = s * scale;
    m = fmaxf(m, scores[j]);
  }
  red[threadIdx.x] = m;
  __syncthreads();
  for (int w = blockDim.x / 2; w > 0; w /= 2) {
    if (threadIdx.x < w) red[threadIdx.x] = fmaxf(red[threadIdx.x], red[threadIdx.x + w]);
    __syncthreads();
  }
  m = red[0];
  __syncthreads();
  float sum = 0;
  for (int j = threadIdx.x; j < seen; j += blockDim.x) sum += (scores[j] = __expf(scores[j] - m));
  red[threadIdx.x] = sum;
  __syncthreads();
  for (int w = blockDim.x / 2; w > 0; w /= 2) {
    if (threadIdx.x < w) red[threadIdx.x] += red[threadIdx.x + w];
    __syncthreads();
  }
  const float inv = 1.0f / red[0];
  for (int d = threadIdx.x; d < head_dim; d += blockDim.x) {
    float acc = 0;
    for (int j = 0; j < seen; ++j) acc += scores[j] * v[static_cast<size_t>(j) * kv_dim + g * head_dim + d];
    o[static_cast<size_t>(t) * dim + h * head_dim + d] = __float2half(acc * inv);
  }
}

__global__ void silu_mul(const float* gate, const float* up, size_t count, __half* out) {
  for (size_t i = blockIdx.x * static_cast<size_t>(blockDim.x) + threadIdx.x; i < count;
       i += static_cast<size_t>(gridDim.x) * blockDim.x) {
    const float g = gate[i];
    out[i] = __float2half(g / (1.0f + __expf(-g)) * up[i]);
  }
}

}  // namespace

void launch_embed(const __half* embedding, const int* ids, int n, int dim, float* x, cudaStream_t s) {
  if (n > 0) embed<<<n, 256, 0, s>>>(embedding, ids, dim, x);
}
void launch_rms_norm(const float* x, const float* gain, int n, int dim, float eps, __half* out, cudaStream_t s) {
  if (n > 0) rms_norm<<<n, 256, 0, s>>>(x, gain, dim, eps, out);
}
void launch_rope(float* x, int n, int heads, int head_dim, int rotary, double base, bool interleaved, int p0,
                 cudaStream_t s) {
  if (n > 0) rope<<<n, 128, 0, s>>>(x, heads, head_dim, rotary, base, interleaved, p0);
}
void launch_attention(const float* q, const float* k, const float* v, int n, int p0, int heads, int kv_heads,
                      int head_dim, __half* o, cudaStream_t s) {
  if (n <= 0) return;
  const size_t shared = static_cast<size_t>(p0 + n) * sizeof(float);
  if (shared > 48 * 1024) cudaFuncSetAttribute(attention, cudaFuncAttributeMaxDynamicSharedMemorySize, static_cast<int>(shared));
  attention<<<dim3(n, heads), 256, shared, s>>>(q, k, v, p0, heads, kv_heads, head_dim, o);
}
void launch_silu_mul(const float* gate, const float* up, std::size_t count, __half* out, cudaStream_t s) {
  if (count > 0) silu_mul<<<static_cast<unsigned>((count + 255) / 256 < 65535 ? (count + 255) / 256 : 65535), 256, 0, s>>>(gate, up, count, out);
}

}  // namespace lrb::kernels
