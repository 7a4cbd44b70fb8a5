#pragma once
// The framing around a payload coded in chunks by a GPU codec (nvCOMP's batched API, used by
// methods/kvtc/kvtc_nvcomp_cuda.cpp): the codec writes each chunk into a slot of its worst-case size; these
// kernels compact the slots into one frame and find the chunks again, on the device, so nothing waits for
// the host between compress and the stored size. Frame, little-endian, at any byte address:
//   u32 chunk count n, u32 uncompressed chunk bytes, u32 compressed bytes of each chunk, zero padding to the
//   next 16-byte address, then the chunks, each starting at a 16-byte address (the codecs' input alignment).
#include <cuda_runtime.h>

#include <cstddef>
#include <cstdint>

namespace lrb::kernels::chunk_frame {

// The frame's bytes at most for n chunks of at most `max_chunk_out` bytes each.
std::size_t max_frame_bytes(std::size_t n, std::size_t max_chunk_out);

// Compacts: sizes[n] (device, the codec's output sizes) -> frame header and offsets; slots[i] (device
// pointers) -> the chunks; *total (device, 8-aligned) := the frame's bytes. `offsets`: n u64 of scratch.
void launch_compact(const void* const* slots, const std::size_t* sizes, int n, std::uint32_t chunk_bytes,
                    std::uint8_t* frame, unsigned long long* offsets, unsigned long long* total, cudaStream_t stream);
// Reads a frame back: the chunks' device pointers and sizes for the decoder.
void launch_locate(const std::uint8_t* frame, int n, const void** chunk_ptrs, std::size_t* chunk_sizes,
                   cudaStream_t stream);

}  // namespace lrb::kernels::chunk_frame
