#include "kernels/kv_compression/chunk_frame.cuh"

#include <cub/block/block_scan.cuh>

namespace lrb::kernels::chunk_frame {
namespace {

constexpr int kScanThreads = 256;  // 1024 ran out of registers for the scan (cudaErrorLaunchOutOfResources)
constexpr int kCopyThreads = 256;

__host__ __device__ constexpr unsigned long long align16(unsigned long long x) { return (x + 15) & ~15ull; }

// The offset (from the frame's start) where chunk data begins: after 8 + 4n header bytes, at a 16-byte address.
__device__ unsigned long long data_start(const std::uint8_t* frame, int n) {
  const auto at = reinterpret_cast<unsigned long long>(frame);
  return align16(at + 8 + 4ull * n) - at;
}

__device__ void put_u32(std::uint8_t* p, std::uint32_t v) {
  p[0] = v & 0xFF, p[1] = (v >> 8) & 0xFF, p[2] = (v >> 16) & 0xFF, p[3] = v >> 24;
}
__device__ std::uint32_t get_u32(const std::uint8_t* p) {
  return p[0] | (p[1] << 8) | (p[2] << 16) | (static_cast<std::uint32_t>(p[3]) << 24);
}

// One block: each chunk's offset = data start + the sum of the earlier chunks' sizes, each rounded to 16.
// `size_of(i)` gives chunk i's size; `emit(i, offset, size)` is called once per chunk; returns the end.
template <class SizeOf, class Emit>
__device__ void scan_offsets(int n, unsigned long long start, SizeOf size_of, Emit emit, unsigned long long* end) {
  using Scan = cub::BlockScan<unsigned long long, kScanThreads>;
  __shared__ typename Scan::TempStorage temp;
  __shared__ unsigned long long carry;
  if (threadIdx.x == 0) carry = start;
  __syncthreads();
  for (int base = 0; base < n; base += kScanThreads) {
    const int i = base + threadIdx.x;
    const unsigned long long size = i < n ? size_of(i) : 0;
    unsigned long long before = 0, sum = 0;
    Scan(temp).ExclusiveSum(i < n ? align16(size) : 0ull, before, sum);
    const unsigned long long c = carry;
    if (i < n) emit(i, c + before, size);
    __syncthreads();
    if (threadIdx.x == 0) carry = c + sum;
    if (i == n - 1) *end = c + before + size;  // the last chunk's end: the frame's exact size
    __syncthreads();
  }
}

__global__ void __launch_bounds__(kScanThreads) compact_layout(const std::size_t* __restrict__ sizes, int n, std::uint32_t chunk_bytes,
                               std::uint8_t* __restrict__ frame, unsigned long long* __restrict__ offsets,
                               unsigned long long* __restrict__ total) {
  const unsigned long long start = data_start(frame, n);
  if (threadIdx.x == 0) {
    put_u32(frame, static_cast<std::uint32_t>(n)), put_u32(frame + 4, chunk_bytes);
    if (n == 0) *total = 8;
  }
  for (unsigned long long b = 8 + 4ull * n + threadIdx.x; b < start; b += blockDim.x) frame[b] = 0;  // padding
  scan_offsets(
      n, start, [&](int i) { return static_cast<unsigned long long>(sizes[i]); },
      [&](int i, unsigned long long offset, unsigned long long size) {
        put_u32(frame + 8 + 4ull * i, static_cast<std::uint32_t>(size));
        offsets[i] = offset;
      },
      total);
}

// One block per chunk: its bytes from its slot to its place, 16 at a time, then the gap to the next chunk
// (up to 15 bytes) zeroed so the frame's bytes are all defined.
__global__ void compact_copy(const void* const* __restrict__ slots, const std::size_t* __restrict__ sizes, int n,
                             std::uint8_t* __restrict__ frame, const unsigned long long* __restrict__ offsets) {
  const int i = blockIdx.x;
  const auto* src = static_cast<const std::uint8_t*>(slots[i]);
  std::uint8_t* dst = frame + offsets[i];
  const unsigned long long size = sizes[i], vectors = size / 16;
  for (unsigned long long v = threadIdx.x; v < vectors; v += blockDim.x)
    reinterpret_cast<uint4*>(dst)[v] = reinterpret_cast<const uint4*>(src)[v];
  for (unsigned long long b = 16 * vectors + threadIdx.x; b < size; b += blockDim.x) dst[b] = src[b];
  if (i + 1 < n)
    for (unsigned long long b = size + threadIdx.x; b < align16(size); b += blockDim.x) dst[b] = 0;
}

__global__ void __launch_bounds__(kScanThreads) locate(const std::uint8_t* __restrict__ frame, int n, const void** __restrict__ ptrs,
                       std::size_t* __restrict__ sizes) {
  __shared__ unsigned long long end;
  scan_offsets(
      n, data_start(frame, n), [&](int i) { return static_cast<unsigned long long>(get_u32(frame + 8 + 4ull * i)); },
      [&](int i, unsigned long long offset, unsigned long long size) {
        ptrs[i] = frame + offset;
        sizes[i] = size;
      },
      &end);
}

}  // namespace

std::size_t max_frame_bytes(std::size_t n, std::size_t max_chunk_out) {
  return 8 + 4 * n + 15 + n * static_cast<std::size_t>(align16(max_chunk_out));
}

void launch_compact(const void* const* slots, const std::size_t* sizes, int n, std::uint32_t chunk_bytes,
                    std::uint8_t* frame, unsigned long long* offsets, unsigned long long* total, cudaStream_t stream) {
  compact_layout<<<1, kScanThreads, 0, stream>>>(sizes, n, chunk_bytes, frame, offsets, total);
  if (n > 0) compact_copy<<<n, kCopyThreads, 0, stream>>>(slots, sizes, n, frame, offsets);
}

void launch_locate(const std::uint8_t* frame, int n, const void** chunk_ptrs, std::size_t* chunk_sizes,
                   cudaStream_t stream) {
  if (n > 0) locate<<<1, kScanThreads, 0, stream>>>(frame, n, chunk_ptrs, chunk_sizes);
}

}  // namespace lrb::kernels::chunk_frame
