#pragma once
// KVTC's CUDA kernels (methods/kvtc/kvtc_cuda.cpp): everything around the two cuBLASLt projections.
//   prepare_vectors: a coded token's cache vectors gathered into the stream layout X[stream][row][p] (fp16),
//     keys' RoPE undone at their positions (cos/sin tables from the host, in double rounded to float), the
//     stream's mean subtracted;
//   quantize_pack: per (stream, row), each kept group of the plan's coefficients C (fp32) -> fp16 shift and
//     scale rounded outward, codes, packed LSB-first into the row's bytes: the CPU reference's
//     (methods/kvtc/kvtc_quant.cpp) float operations in the same order, so the same C gives the same bytes;
//   unpack_dequantize: the inverse into fp16 coefficients (dropped and padded components zero);
//   restore_vectors: mean added, RoPE re-applied, rounded to fp16 and scattered back into the cache layout;
//   copy_raw: the raw sinks and window between the cache and the blob, bit-exact.
// A warp per group in the (de)quantizers: groups of 1 (a greedy plan) and of 1024 both keep every lane busy
// without block-wide barriers per group.
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <cstddef>
#include <cstdint>

namespace lrb::kernels::kvtc {

struct DeviceGroup {
  int begin = 0, size = 0, type = 0;  // type: methods/kvtc/kvtc_quant.hpp's CodeType (0 dropped)
  int param = -1;         // index k of its shift/scale word in the row (kept groups), -1 dropped
  int code_bit = 0;       // first bit of its codes inside the row's code section
};

struct DeviceStream {
  int group_begin = 0, group_count = 0;  // into the group array
  int kept = 0;                          // kept groups: the row's first 4 * kept bytes
  int kept_begin = 0;                    // into the kept-group array (the fused kernels skip dropped groups)
  int components = 0;                    // r: the groups cover [0, r); coefficient columns beyond are padding
  int row_bytes = 0;
  long long payload_offset = 0;          // of its first row in the payload
};

struct CacheGeometry {
  int layers = 0, tokens = 0, heads = 0, head_dim = 0;
  int first = 0, coded = 0;   // coded tokens [first, first + coded)
  bool per_head = false;      // streams: per (layer, head) of p = head_dim; else one of p = layers x heads x head_dim
  // RoPE (keys only): rotary dims, interleaved pairs (2i, 2i + 1) or NeoX (i, i + rot / 2); tables [tokens][rot / 2].
  bool rope = false, interleaved = false;
  int rotary_dims = 0;
  const float* cos = nullptr;
  const float* sin = nullptr;
  __host__ __device__ int p() const { return per_head ? head_dim : layers * heads * head_dim; }
  __host__ __device__ int streams() const { return per_head ? layers * heads : 1; }
};

// X[s][row][j] (fp16) from the cache (fp16, [layer][token][head][dim]); mean[s][j] fp32.
void launch_prepare_vectors(const __half* cache, const CacheGeometry& g, const float* mean, __half* X,
                            cudaStream_t stream);
// C[s][row][c] (fp32, leading dimension ldc per row, stride_c per stream) -> payload rows (every byte of each
// row written: a row is composed in shared memory, then stored).
void launch_quantize_pack(const float* C, int ldc, long long stride_c, const DeviceStream* streams, int stream_count,
                          const DeviceGroup* groups, int rows, int max_row_bytes, std::uint8_t* payload,
                          cudaStream_t stream);
// Untimed, once in prepare: lets both row kernels take rows of up to `max_row_bytes` (dynamic shared memory
// beyond the default 48 KiB).
void configure_row_kernels(int max_row_bytes);
// payload rows -> C16[s][row][c] (every component of [0, ldc) written: dropped and padding as 0).
void launch_unpack_dequantize(const std::uint8_t* payload, const DeviceStream* streams, int stream_count,
                              const DeviceGroup* groups, int rows, int max_row_bytes, __half* C16, int ldc,
                              long long stride_c, cudaStream_t stream);
// Xhat[s][row][j] (fp32) + mean, RoPE re-applied, rounded to fp16, into the cache layout.
void launch_restore_vectors(const float* Xhat, const CacheGeometry& g, const float* mean, __half* cache,
                            cudaStream_t stream);
// The raw tokens (positions[0..count)) of every layer: cache -> raw (to_raw) or raw -> cache;
// raw layout [layer][i][heads x head_dim] as the CPU blob writes it.
void launch_copy_raw(__half* cache, __half* raw, const int* positions, int count, const CacheGeometry& g, bool to_raw,
                     cudaStream_t stream);

}  // namespace lrb::kernels::kvtc
