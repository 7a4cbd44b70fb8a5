#pragma once
// Row gather / scatter for fp16 row-major matrices (tokens grouped by adapter).
#include <cuda_fp16.h>
#include <cuda_runtime.h>

namespace lrb::kernels {

// dst[i, :] = src[index[i], :] for i < rows.
void launch_gather_rows(const __half* src, const int* index, int rows, int cols, __half* dst, cudaStream_t stream);
// dst[index[i], :] = src[i, :] for i < rows.
void launch_scatter_rows(const __half* src, const int* index, int rows, int cols, __half* dst, cudaStream_t stream);

}  // namespace lrb::kernels
