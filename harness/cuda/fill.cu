#include "harness/cuda/fill.cuh"

namespace lrb::kernels {
namespace {
__global__ void fill_random(__half* data, std::size_t n, std::uint64_t seed) {
  for (std::size_t i = blockIdx.x * static_cast<std::size_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<std::size_t>(gridDim.x) * blockDim.x) {
    std::uint64_t z = seed * 0x9e3779b97f4a7c15ull + i;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    z ^= z >> 31;
    data[i] = __float2half(static_cast<float>(z >> 40) * (2.0f / 16777216.0f) - 1.0f);
  }
}
}  // namespace

void launch_fill_random_half(__half* data, std::size_t n, std::uint64_t seed, cudaStream_t stream) {
  fill_random<<<1024, 256, 0, stream>>>(data, n, seed);
}
}  // namespace lrb::kernels
