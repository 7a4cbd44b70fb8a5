#pragma once
// Programmatic dependent launch (Hopper, sm_90): a kernel launched with cudaLaunchAttributeProgrammaticStreamSerialization
// may start before the kernel ahead of it in the stream has finished, once every block of that one has called
// grid_dependents_launch() (or exited); it must call grid_dependency_wait() before it reads what that kernel
// writes. Both are no-ops where there is no such dependency, and below sm_90.

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

}  // namespace lrb::kernels
