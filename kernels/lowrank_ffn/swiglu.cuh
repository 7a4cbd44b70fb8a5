#pragma once
// The SwiGLU gate of the unfused FFN paths: h = silu(g) * u elementwise over [T, d_ff] (fp16 in and out,
// float math as the CPU paths: g / (1 + e^-g) * u).
#include <cuda_fp16.h>
#include <cuda_runtime.h>

namespace lrb::kernels {

// h[i, j] = silu(g[i, j]) * u[i, j] for a [rows x cols] block whose rows are ld_g, ld_u, ld_h elements apart
// (h may alias g).
void launch_swiglu(const __half* g, int ld_g, const __half* u, int ld_u, __half* h, int ld_h, int rows, int cols,
                   cudaStream_t stream);

}  // namespace lrb::kernels
