#pragma once
// One persistent Hopper grouped GEMM over many independent fp16 GEMMs Y_i = X_i W_i^T (the projections of an
// adapter_projection pass): CUTLASS 3's TMA + wgmma warp-specialized kernel for arrays of pointers, its tile
// scheduler walking every (projection, tile) in ONE launch, so a batch-256 pass of 128 projections of 4096 x 4096
// fills the GPU where one cuBLAS GEMM per projection (32 tiles each) cannot. Built only with CUTLASS (scripts/setup:
// deps/cutlass) for sm_90a; elsewhere available() is false with the reason, and callers skip it.
// Layouts (as the rest of adapter_projection): W [d_out][d_in], X [batch][d_in], Y [batch][d_out], all packed.
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <memory>
#include <string>
#include <vector>

namespace lrb::kernels {

struct GroupedGemmSm90aProblem {
  const __half* W = nullptr;
  const __half* X = nullptr;
  __half* Y = nullptr;
  int d_out = 0, batch = 0, d_in = 0;
};

class GroupedGemmSm90a {
 public:
  GroupedGemmSm90a();
  ~GroupedGemmSm90a();
  GroupedGemmSm90a(GroupedGemmSm90a&&) noexcept;
  GroupedGemmSm90a& operator=(GroupedGemmSm90a&&) noexcept;

  // Whether this build has the kernel ("" if so, else why not).
  static std::string unavailable_reason();
  // Why these problems cannot run (TMA: 16-byte aligned rows and bases), or "".
  static std::string unsupported_reason(const std::vector<GroupedGemmSm90aProblem>& problems);
  // Device tables, the tile configuration (by the largest batch) and the workspace; throws where it cannot.
  void plan(const std::vector<GroupedGemmSm90aProblem>& problems, cudaStream_t stream);
  void run(cudaStream_t stream) const;
  // "128x64x128 pingpong" or "128x256x64 cooperative, cluster 2x1": which instantiation plan chose.
  std::string config() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace lrb::kernels
