#pragma once
// The SwiGLU gate every lowrank_ffn CUDA path applies: silu(g) * u = g / (1 + e^-g) * u in float, the CPU
// paths' operations (workloads/lowrank_ffn/method_base.hpp, gated). Included by .cu files only.
#include <cuda_runtime.h>

namespace lrb::kernels {

__device__ __forceinline__ float silu_gate(float g, float u) { return g / (1.0f + expf(-g)) * u; }

}  // namespace lrb::kernels
