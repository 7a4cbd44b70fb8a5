#pragma once
// The current device's limits that kernels size their grids and shared memory by (kernels cannot reach the
// harness's DeviceInfo: the kernels layer is the leaf of the build).
namespace lrb::kernels {

// Streaming multiprocessors of the current device (queried once a process: one process drives one device).
int device_sm_count();
// Dynamic shared memory one block may opt into on the current device (cudaDevAttrMaxSharedMemoryPerBlockOptin).
int device_shared_limit();

}  // namespace lrb::kernels
