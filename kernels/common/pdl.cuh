#pragma once
// Programmatic dependent launch (Hopper, sm_90): a kernel launched by launch_programmatic_dependent may start
// before the kernel ahead of it in the stream has finished, once every block of that one has called
// grid_dependents_launch() (or exited); it must call grid_dependency_wait() before it reads what that kernel
// writes. Both device calls are no-ops where there is no such dependency, and below sm_90. Stream capture keeps
// the dependency as a programmatic graph edge. Included by .cu files only.
#include "kernels/common/launch_ex.cuh"

namespace lrb::kernels {

// In the primary: this block lets the dependent grid launch (its blocks still run to completion first where the
// dependent waits).
__device__ __forceinline__ void grid_dependents_launch() {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  asm volatile("griddepcontrol.launch_dependents;" ::: "memory");
#endif
}

// In the dependent: wait until the primary grid has completed and its memory operations are visible.
__device__ __forceinline__ void grid_dependency_wait() {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  asm volatile("griddepcontrol.wait;" ::: "memory");
#endif
}

// Launches `kernel` as a programmatic dependent of the kernel before it in `stream`; returns the launch's error.
template <typename... Params, typename... Args>
cudaError_t launch_programmatic_dependent(void (*kernel)(Params...), dim3 grid, int threads, int shared_bytes,
                                          cudaStream_t stream, Args&&... args) {
  cudaLaunchAttribute dependent = {};
  dependent.id = cudaLaunchAttributeProgrammaticStreamSerialization;
  dependent.val.programmaticStreamSerializationAllowed = 1;
  return launch_with_attribute(kernel, grid, threads, shared_bytes, stream, dependent, static_cast<Args&&>(args)...);
}

}  // namespace lrb::kernels
