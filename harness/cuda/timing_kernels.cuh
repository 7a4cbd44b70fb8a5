#pragma once
// Kernels of the measurement itself (plain C++ declarations: host code includes this without nvcc).
#include <cuda_runtime.h>

#include <cstddef>

namespace lrb::kernels {

// Reads every byte of `buffer` (16-byte loads) and writes nothing but one int to `sink` when an impossible
// condition holds. A read-sweep of 2x L2 evicts what a method left in L2 without leaving dirty lines
// behind (a memset leaves ~30 MiB of dirty lines that are written back during the next range).
void launch_read_sweep(const void* buffer, std::size_t bytes, int* sink, cudaStream_t stream);

// Spins until *release != 0 (host-mapped flag) or `timeout_ns` passes; then sets *timed_out to 1 if it
// timed out. Enqueued before a timed region so launch submission does not show in the sample (nvbench).
void launch_blocking_kernel(const volatile int* release, unsigned long long timeout_ns, int* timed_out,
                            cudaStream_t stream);

}  // namespace lrb::kernels
