#pragma once
// The quantization baselines' CUDA kernels (methods/fp8_e4m3, methods/kivi): each writes the CPU path's blob
// sections byte for byte (the same float operations in the same order, group_quant.cuh), so either path's
// blob decodes on the other.
//   fp8_e4m3: per (tensor, layer) amax (atomicMax on the float bits: non-negative floats order as integers),
//     then scale = amax / 448 and every element cast (saturating, round to nearest even);
//     Eight elements a thread (16-byte loads) where a layer's element count is a multiple of 8.
//   group quantization (kivi, int4_per_token): where group_vector.cuh takes the scheme (the shapes of real
//     caches: per-token groups of 8-256 channels dividing the width, per-channel groups of 4k tokens), one
//     pass a group (group_vector.cu); else a params pass writes each group's fp16 shift and scale, then a
//     code pass writes the packed codes a byte at a time: codes are 2, 4 or 8 bits, so no code straddles a
//     byte and each byte has one writer; decode is one pass, a byte of codes per thread.
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <cstddef>
#include <cstdint>

namespace lrb::kernels::baselines {

// ---- fp8 e4m3 with one fp32 scale per layer ----
// amax[layers] must be zeroed before (cudaMemsetAsync). `out` points at the tensor's first layer section
// ([float scale][codes x per_layer] per layer, unaligned).
void launch_fp8_amax(const __half* x, int layers, std::size_t per_layer, unsigned* amax, cudaStream_t stream);
void launch_fp8_encode(const __half* x, int layers, std::size_t per_layer, const unsigned* amax, std::uint8_t* out,
                       cudaStream_t stream);
void launch_fp8_decode(const std::uint8_t* in, int layers, std::size_t per_layer, __half* x, cudaStream_t stream);

// ---- group quantization of the first `quantized` tokens of each layer ----
struct GroupScheme {
  int layers = 0, tokens = 0, heads = 0, head_dim = 0;
  int quantized = 0;          // tokens [0, quantized) of every layer coded; the rest are raw
  int bits = 4, group = 32;   // bits 2, 4 or 8
  bool per_channel = false;   // kivi keys: each channel over `group` consecutive tokens; else groups of channels
  __host__ __device__ int width() const { return heads * head_dim; }
  // Groups of one tensor, in the blob's order.
  __host__ __device__ long long groups() const {
    if (per_channel) return static_cast<long long>(layers) * width() * (quantized / group);
    return static_cast<long long>(layers) * quantized * ((width() + group - 1) / group);
  }
  __host__ __device__ long long coded() const { return static_cast<long long>(layers) * quantized * width(); }
  __host__ __device__ long long code_bytes() const { return (coded() * bits + 7) / 8; }
};

// params: groups() x {u16 shift, u16 scale} little-endian, at any byte; codes: code_bytes() bytes.
void launch_group_encode(const __half* x, const GroupScheme& s, std::uint8_t* params, std::uint8_t* codes,
                         cudaStream_t stream);
void launch_group_decode(const std::uint8_t* params, const std::uint8_t* codes, const GroupScheme& s, __half* x,
                         cudaStream_t stream);

}  // namespace lrb::kernels::baselines
