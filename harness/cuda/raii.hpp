#pragma once
// Owners of CUDA streams, events, graphs and cuBLAS handles: created in the constructor, destroyed in the
// destructor, never copied.
#include <cublasLt.h>
#include <cublas_v2.h>
#include <cuda_runtime.h>

#include <utility>

#include "harness/cuda/check.hpp"

namespace lrb::cuda {

template <class Handle, class Deleter>
class UniqueHandle {
 public:
  UniqueHandle() = default;
  explicit UniqueHandle(Handle h) : h_(h) {}
  ~UniqueHandle() {
    if (h_) Deleter{}(h_);
  }
  UniqueHandle(const UniqueHandle&) = delete;
  UniqueHandle& operator=(const UniqueHandle&) = delete;
  UniqueHandle(UniqueHandle&& o) noexcept : h_(std::exchange(o.h_, Handle{})) {}
  UniqueHandle& operator=(UniqueHandle&& o) noexcept {
    if (this != &o) {
      if (h_) Deleter{}(h_);
      h_ = std::exchange(o.h_, Handle{});
    }
    return *this;
  }
  Handle get() const { return h_; }
  explicit operator bool() const { return h_ != Handle{}; }

 private:
  Handle h_{};
};

struct StreamDeleter {
  void operator()(cudaStream_t s) const { cudaStreamDestroy(s); }
};
struct EventDeleter {
  void operator()(cudaEvent_t e) const { cudaEventDestroy(e); }
};
struct GraphDeleter {
  void operator()(cudaGraph_t g) const { cudaGraphDestroy(g); }
};
struct GraphExecDeleter {
  void operator()(cudaGraphExec_t g) const { cudaGraphExecDestroy(g); }
};
struct CublasDeleter {
  void operator()(cublasHandle_t h) const { cublasDestroy(h); }
};
struct CublasLtDeleter {
  void operator()(cublasLtHandle_t h) const { cublasLtDestroy(h); }
};

class Stream : public UniqueHandle<cudaStream_t, StreamDeleter> {
 public:
  static Stream create() {
    cudaStream_t s;
    LRB_CUDA_CHECK(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking));
    return Stream(s);
  }
  using UniqueHandle::UniqueHandle;
};

class Event : public UniqueHandle<cudaEvent_t, EventDeleter> {
 public:
  static Event create() {
    cudaEvent_t e;
    LRB_CUDA_CHECK(cudaEventCreate(&e));
    return Event(e);
  }
  using UniqueHandle::UniqueHandle;
  void record(cudaStream_t s) { LRB_CUDA_CHECK(cudaEventRecord(get(), s)); }
  // Milliseconds from `start` to this event (both recorded and complete).
  float since(const Event& start) const {
    float ms = 0;
    LRB_CUDA_CHECK(cudaEventElapsedTime(&ms, start.get(), get()));
    return ms;
  }
};

using Graph = UniqueHandle<cudaGraph_t, GraphDeleter>;
using GraphExec = UniqueHandle<cudaGraphExec_t, GraphExecDeleter>;
using CublasHandle = UniqueHandle<cublasHandle_t, CublasDeleter>;
using CublasLtHandle = UniqueHandle<cublasLtHandle_t, CublasLtDeleter>;

}  // namespace lrb::cuda
