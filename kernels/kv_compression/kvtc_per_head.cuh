#pragma once
// kvtc per_head mode, fused (v5, docs/perf/kvtc.md): one kernel per direction and tensor, a block per
// (layer, head) stream and 64 coded tokens; the stream's kept groups, mean and basis in shared memory, then
// each of the 4 warps works its 16 tokens alone (no block barrier after the setup). The cache is read once and
// the payload written once.
//   encode: each lane loads the same 8-dim chunk of 2-8 head vectors (16-byte loads in batches of up to 4),
//     undoes keys' RoPE in registers (the NeoX partner chunk from another lane by shuffles) and subtracts the
//     mean, X to shared memory; C = X B^T on tensor cores (WMMA 16x16x16, fp16 operands, fp32 accumulation);
//     the warp quantizes and packs its rows (group_quant.cuh: the CPU reference's float operations), two lanes
//     a row, and writes them as one contiguous run;
//   decode: the mirror image: rows unpacked and dequantized to fp16 coefficients (dropped and padding 0),
//     projected back on tensor cores (WMMA 8x32x16, a warp's rows in two halves of 8), then per lane chunk the mean added, RoPE re-applied, rounded to fp16
//     and stored with 16-byte stores.
// Shapes: head_dim 32, 64 or 128 and rotary dims a multiple of 16 (per_head_supported); anything else takes
// the unfused v1 path (kvtc.cuh).
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <cstddef>
#include <cstdint>

#include "kernels/kv_compression/kvtc.cuh"

namespace lrb::kernels::kvtc {

// The kernels' version as records name it (metrics.cuda_kernels) and the GPU tests expect it.
inline constexpr const char* kPerHeadKernelLabel = "per_head_fused_v6";

struct PerHeadTensor {
  const DeviceStream* streams = nullptr;  // [layers x heads]
  const DeviceGroup* kept_groups = nullptr;  // each stream's kept groups (DeviceStream::kept_begin, kept)
  const float* mean = nullptr;               // [S][head_dim]
  const __half* basis = nullptr;             // [S][rmax][head_dim]
  int rmax = 0, max_kept = 0, max_row_bytes = 0;
};

// Whether the fused kernels take this geometry and plan (head_dim, shared memory within `smem_limit`).
bool per_head_supported(const CacheGeometry& g, const PerHeadTensor& t, int smem_limit);
// Dynamic shared memory the kernels take for this plan.
int per_head_shared_bytes(const CacheGeometry& g, const PerHeadTensor& t);
// Untimed, in prepare, for each tensor the kernels will run: raises the kernels' dynamic shared-memory limit
// to this plan's where it is higher (the limit is per kernel, not per launch, so it never shrinks).
void configure_per_head(const CacheGeometry& g, const PerHeadTensor& t);

void launch_per_head_encode(const __half* cache, const CacheGeometry& g, const PerHeadTensor& t,
                            std::uint8_t* payload, cudaStream_t stream);
void launch_per_head_decode(const std::uint8_t* payload, const CacheGeometry& g, const PerHeadTensor& t,
                            __half* cache, cudaStream_t stream);

}  // namespace lrb::kernels::kvtc
