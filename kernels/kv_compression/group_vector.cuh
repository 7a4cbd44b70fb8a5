#pragma once
// The group quantizers' fast kernels (baselines.cu dispatches to them where the shape allows, else to its
// element-at-a-time kernels): one pass that reads the cache once with 16-byte loads, finds each group's min
// and max in registers (per-token groups: the group's lanes reduce by shuffles; per-channel groups: a thread
// owns a channel's group and reads it twice, the second time from L1/L2), and writes shift, scale and packed
// codes; decode reads each group's params and codes once and writes 16-byte stores (per-token) or coalesced
// halves (per-channel). The same float operations as the CPU path (group_quant.cuh): the blob is byte for
// byte the same.
#include <cuda_runtime.h>

#include "kernels/kv_compression/baselines.cuh"

namespace lrb::kernels::baselines::vector {

// Whether the fast kernels take this scheme: per-token groups of 8 to 256 channels (a power of two that
// divides the width), per-channel groups of a multiple of 4 tokens.
bool takes(const GroupScheme& s);

void launch_encode(const __half* x, const GroupScheme& s, std::uint8_t* params, std::uint8_t* codes,
                   cudaStream_t stream);
void launch_decode(const std::uint8_t* params, const std::uint8_t* codes, const GroupScheme& s, __half* x,
                   cudaStream_t stream);

}  // namespace lrb::kernels::baselines::vector
