#pragma once
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <cstddef>
#include <cstdint>

namespace lrb::kernels {
// data[i] = a hash of (seed, i) mapped to [-1, 1): deterministic, non-zero-mean-free test data on device.
void launch_fill_random_half(__half* data, std::size_t n, std::uint64_t seed, cudaStream_t stream);
}  // namespace lrb::kernels
