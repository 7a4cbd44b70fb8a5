#pragma once
// RAII device memory (not copyable, movable). Every DeviceBuffer counts its bytes, so the memory pass
// can report the peak and transient device bytes of a method's run (MEASUREMENT.md section 6).
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <utility>

#include "harness/cuda/check.hpp"
#include "harness/output_view.hpp"

namespace lrb::cuda {

class DeviceMemoryCounter {
 public:
  static void add(std::int64_t bytes);
  static std::int64_t current();
  static std::int64_t peak();
  static void reset_peak();  // peak := current
};

template <class T>
class DeviceBuffer {
 public:
  DeviceBuffer() = default;
  explicit DeviceBuffer(std::size_t count) { allocate(count); }
  ~DeviceBuffer() { release(); }
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;
  DeviceBuffer(DeviceBuffer&& other) noexcept
      : data_(std::exchange(other.data_, nullptr)),
        count_(std::exchange(other.count_, 0)),
        guard_(std::exchange(other.guard_, 0)) {}
  DeviceBuffer& operator=(DeviceBuffer&& other) noexcept {
    if (this != &other) {
      release();
      data_ = std::exchange(other.data_, nullptr);
      count_ = std::exchange(other.count_, 0);
      guard_ = std::exchange(other.guard_, 0);
    }
    return *this;
  }

  void allocate(std::size_t count) { allocate_guarded(count, 0); }
  // `guard` elements of sentinel space before and after the `count` elements (outputs: the correctness
  // pass fills and checks them, harness/check.hpp). data() points at the first of the `count` elements.
  void allocate_guarded(std::size_t count, std::size_t guard) {
    release();
    if (count == 0) return;
    T* base = nullptr;
    LRB_CUDA_CHECK(cudaMalloc(&base, (count + 2 * guard) * sizeof(T)));
    data_ = base + guard;
    count_ = count;
    guard_ = guard;
    DeviceMemoryCounter::add(static_cast<std::int64_t>(allocated_bytes()));
  }
  void release() {
    if (data_) {
      cudaFree(data_ - guard_);  // no throw from a destructor; a failed free leaves nothing to recover
      DeviceMemoryCounter::add(-static_cast<std::int64_t>(allocated_bytes()));
    }
    data_ = nullptr;
    count_ = 0;
    guard_ = 0;
  }
  // Zero bytes in the whole buffer (guards excluded), asynchronously.
  void zero(cudaStream_t stream) {
    if (data_) LRB_CUDA_CHECK(cudaMemsetAsync(data_, 0, bytes(), stream));
  }
  void upload(const T* host, std::size_t count, cudaStream_t stream) {
    if (count != count_) allocate(count);
    LRB_CUDA_CHECK(cudaMemcpyAsync(data_, host, count * sizeof(T), cudaMemcpyHostToDevice, stream));
  }
  void download(T* host, cudaStream_t stream) const {
    LRB_CUDA_CHECK(cudaMemcpyAsync(host, data_, bytes(), cudaMemcpyDeviceToHost, stream));
  }

  T* data() { return data_; }
  const T* data() const { return data_; }
  std::size_t size() const { return count_; }
  std::size_t bytes() const { return count_ * sizeof(T); }
  std::size_t guard_elements() const { return guard_; }

 private:
  std::size_t allocated_bytes() const { return (count_ + 2 * guard_) * sizeof(T); }
  T* data_ = nullptr;
  std::size_t count_ = 0;
  std::size_t guard_ = 0;
};

// A device output buffer with guard bands of kGuardBandBytes on both sides.
template <class T>
void allocate_output(DeviceBuffer<T>& b, std::size_t count) {
  b.allocate_guarded(count, kGuardBandBytes / sizeof(T));
}

// A host fp16 matrix (Eigen::half, IEEE binary16 like __half: the bits are kept) uploaded as it is.
template <class M>
DeviceBuffer<__half> upload_half(const M& m, cudaStream_t stream) {
  DeviceBuffer<__half> b;
  if (m.size() > 0) b.upload(reinterpret_cast<const __half*>(m.data()), static_cast<std::size_t>(m.size()), stream);
  return b;
}

}  // namespace lrb::cuda

namespace lrb::cuda {

// Stream-ordered scratch memory for intermediates that exist only during a run (cudaMallocAsync /
// cudaFreeAsync: capturable in CUDA graphs). Counted like DeviceBuffer, so it shows as transient memory.
template <class T>
class StreamBuffer {
 public:
  StreamBuffer(std::size_t count, cudaStream_t stream) : stream_(stream), count_(count) {
    if (count_) {
      LRB_CUDA_CHECK(cudaMallocAsync(reinterpret_cast<void**>(&data_), count_ * sizeof(T), stream_));
      DeviceMemoryCounter::add(static_cast<std::int64_t>(count_ * sizeof(T)));
    }
  }
  ~StreamBuffer() {
    if (data_) {
      cudaFreeAsync(data_, stream_);
      DeviceMemoryCounter::add(-static_cast<std::int64_t>(count_ * sizeof(T)));
    }
  }
  StreamBuffer(const StreamBuffer&) = delete;
  StreamBuffer& operator=(const StreamBuffer&) = delete;
  T* data() { return data_; }

 private:
  cudaStream_t stream_;
  std::size_t count_;
  T* data_ = nullptr;
};

}  // namespace lrb::cuda
