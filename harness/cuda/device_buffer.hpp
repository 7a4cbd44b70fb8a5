#pragma once
// RAII device memory (not copyable, movable). Every DeviceBuffer counts its bytes, so the memory pass
// can report the peak and transient device bytes of a method's run (MEASUREMENT.md section 6).
#include <cuda_runtime.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <utility>

#include "harness/cuda/check.hpp"

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
      : data_(std::exchange(other.data_, nullptr)), count_(std::exchange(other.count_, 0)) {}
  DeviceBuffer& operator=(DeviceBuffer&& other) noexcept {
    if (this != &other) {
      release();
      data_ = std::exchange(other.data_, nullptr);
      count_ = std::exchange(other.count_, 0);
    }
    return *this;
  }

  void allocate(std::size_t count) {
    release();
    if (count == 0) return;
    LRB_CUDA_CHECK(cudaMalloc(&data_, count * sizeof(T)));
    count_ = count;
    DeviceMemoryCounter::add(static_cast<std::int64_t>(bytes()));
  }
  void release() {
    if (data_) {
      cudaFree(data_);  // no throw from a destructor; a failed free leaves nothing to recover
      DeviceMemoryCounter::add(-static_cast<std::int64_t>(bytes()));
    }
    data_ = nullptr;
    count_ = 0;
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

 private:
  T* data_ = nullptr;
  std::size_t count_ = 0;
};

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
