#pragma once
// Symmetric int8 per token vector: scale = fp16(amax / 127), code = clamp(rint(x / scale), -127, 127).
// The same float operations as the CPU path, so the blobs are byte-identical.
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <cstddef>
#include <cstdint>

namespace lrb::kernels {

void launch_int8_encode(const __half* x, std::size_t vectors, int width, __half* scales, std::int8_t* codes,
                        cudaStream_t stream);
void launch_int8_decode(const __half* scales, const std::int8_t* codes, std::size_t vectors, int width, __half* out,
                        cudaStream_t stream);

}  // namespace lrb::kernels
