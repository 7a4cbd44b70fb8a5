#pragma once
// A cooperative launch (cudaLaunchAttributeCooperative through cudaLaunchKernelEx, capturable in a graph):
// for kernels whose blocks all wait for one another (flashsvd's decode v3), the runtime refuses a grid the
// device cannot hold at once, so an oversized grid is a launch error, never a hang. The error is left for
// the caller's LRB_CUDA_CHECK_LAUNCH (cudaGetLastError). Included by .cu files only.
#include <cuda_runtime.h>

#include <cstddef>

namespace lrb::kernels {

template <typename... Params, typename... Args>
void launch_cooperative(void (*kernel)(Params...), int grid, int threads, int shared_bytes, cudaStream_t stream,
                        Args&&... args) {
  cudaLaunchConfig_t config = {};
  config.gridDim = dim3(static_cast<unsigned>(grid > 0 ? grid : 1));
  config.blockDim = dim3(static_cast<unsigned>(threads));
  config.dynamicSmemBytes = static_cast<std::size_t>(shared_bytes);
  config.stream = stream;
  cudaLaunchAttribute attribute[1];
  attribute[0].id = cudaLaunchAttributeCooperative;
  attribute[0].val.cooperative = 1;
  config.attrs = attribute;
  config.numAttrs = 1;
  cudaLaunchKernelEx(&config, kernel, static_cast<Args&&>(args)...);
}

}  // namespace lrb::kernels
