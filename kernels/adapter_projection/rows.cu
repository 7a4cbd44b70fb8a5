#include "kernels/adapter_projection/rows.cuh"

namespace lrb::kernels {
namespace {

// One block per row; 16-byte copies where the row allows (cols % 8 == 0 and aligned), else 2-byte.
template <bool Gather>
__global__ void move_rows(const __half* __restrict__ src, const int* __restrict__ index, int cols,
                          __half* __restrict__ dst) {
  const int row = blockIdx.x;
  const int from = Gather ? index[row] : row;
  const int to = Gather ? row : index[row];
  const __half* s = src + static_cast<size_t>(from) * cols;
  __half* d = dst + static_cast<size_t>(to) * cols;
  if (cols % 8 == 0) {
    const uint4* s4 = reinterpret_cast<const uint4*>(s);
    uint4* d4 = reinterpret_cast<uint4*>(d);
    for (int c = threadIdx.x; c < cols / 8; c += blockDim.x) d4[c] = s4[c];
  } else {
    for (int c = threadIdx.x; c < cols; c += blockDim.x) d[c] = s[c];
  }
}

}  // namespace

void launch_gather_rows(const __half* src, const int* index, int rows, int cols, __half* dst, cudaStream_t stream) {
  if (rows > 0) move_rows<true><<<rows, 128, 0, stream>>>(src, index, cols, dst);
}

void launch_scatter_rows(const __half* src, const int* index, int rows, int cols, __half* dst, cudaStream_t stream) {
  if (rows > 0) move_rows<false><<<rows, 128, 0, stream>>>(src, index, cols, dst);
}

}  // namespace lrb::kernels
