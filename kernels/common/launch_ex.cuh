#pragma once
// A kernel launched through cudaLaunchKernelEx with one launch attribute (cooperative, programmatic dependent,
// ...): what kernels/common/cooperative_launch.cuh and pdl.cuh share. Returns the launch's error for the caller
// to check. Included by .cu files only.
#include <cuda_runtime.h>

#include <cstddef>

namespace lrb::kernels {

template <typename... Params, typename... Args>
cudaError_t launch_with_attribute(void (*kernel)(Params...), dim3 grid, int threads, int shared_bytes,
                                  cudaStream_t stream, const cudaLaunchAttribute& attribute, Args&&... args) {
  cudaLaunchConfig_t config = {};
  config.gridDim = grid;
  config.blockDim = dim3(static_cast<unsigned>(threads));
  config.dynamicSmemBytes = static_cast<std::size_t>(shared_bytes);
  config.stream = stream;
  cudaLaunchAttribute attributes[1] = {attribute};
  config.attrs = attributes;
  config.numAttrs = 1;
  return cudaLaunchKernelEx(&config, kernel, static_cast<Args&&>(args)...);
}

}  // namespace lrb::kernels
