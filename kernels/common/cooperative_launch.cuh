#pragma once
// A cooperative launch (cudaLaunchAttributeCooperative through cudaLaunchKernelEx, capturable in a graph):
// for kernels whose blocks all wait for one another (flashsvd's decode v3), the runtime refuses a grid the
// device cannot hold at once, so an oversized grid is a launch error, never a hang. The error is left for
// the caller's LRB_CUDA_CHECK_LAUNCH (cudaGetLastError). Included by .cu files only.
#include "kernels/common/launch_ex.cuh"

namespace lrb::kernels {

template <typename... Params, typename... Args>
void launch_cooperative(void (*kernel)(Params...), int grid, int threads, int shared_bytes, cudaStream_t stream,
                        Args&&... args) {
  cudaLaunchAttribute cooperative = {};
  cooperative.id = cudaLaunchAttributeCooperative;
  cooperative.val.cooperative = 1;
  launch_with_attribute(kernel, dim3(static_cast<unsigned>(grid > 0 ? grid : 1)), threads, shared_bytes, stream,
                        cooperative, static_cast<Args&&>(args)...);
}

}  // namespace lrb::kernels
