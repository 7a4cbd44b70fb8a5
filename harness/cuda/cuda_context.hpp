#pragma once
// The CUDA backend's ExecContext: one non-blocking stream, cuBLAS and cuBLASLt handles with a fixed
// workspace (so cuBLAS never allocates during graph capture), and the GPU measurement modes.
#include <cublasLt.h>
#include <cublas_v2.h>

#include <string>
#include <vector>

#include "harness/cuda/device_buffer.hpp"
#include "harness/cuda/raii.hpp"
#include "harness/exec_context.hpp"

namespace lrb::cuda {

class CudaContext final : public ExecContext {
 public:
  CudaContext();
  cudaStream_t stream() const { return stream_.get(); }
  cublasHandle_t cublas() const { return cublas_.get(); }
  cublasLtHandle_t cublaslt() const { return cublaslt_.get(); }
  void* lt_workspace() { return lt_workspace_.data(); }
  std::size_t lt_workspace_bytes() const { return lt_workspace_.bytes(); }

  void synchronize() override;
  // cold: L2 read-sweep + blocking kernel + events around one run; hot: events around one run on warm
  // buffers; graph: the run captured in a CUDA graph, replays rotating among prepared copies so each
  // replay's data comes from HBM.
  TimingResult time_method(Method& method, const MeasureOptions& options, const PreparedCopyFactory& make_copy) override;
  TimingResult time_phase(TimedPhase& phase, const MeasureOptions& options) override;
  Json measure_memory(Method& method) override;
  Json measure_hbm(Method& method, const std::string& range, bool enabled) override;

 private:
  // NVTX push/pop ranges around the counted execution, one per '/'-separated part of the name.
  void range_push(const std::string& name);
  void range_pop();
  const Json& idle_counter_traffic();
  TimingResult time_events(const std::function<void()>& run, const MeasureOptions& options, bool cold);
  TimingResult time_graph(Method& method, const MeasureOptions& options, const PreparedCopyFactory& make_copy);

  Stream stream_;
  CublasHandle cublas_;
  CublasLtHandle cublaslt_;
  DeviceBuffer<unsigned char> workspace_, lt_workspace_;
  std::vector<int> range_depths_;
};

// The context a method was given, as a CudaContext (throws if a CUDA path got the CPU context).
CudaContext& cuda_context(ExecContext& ctx);

}  // namespace lrb::cuda
