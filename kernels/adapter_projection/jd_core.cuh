#pragma once
// jd_full / jd_diag (Compress-then-Serve), the per-token core between the two shared-basis GEMMs:
// Zc[t] = S_k Z[t] with k the token's adapter (S_k a full R x R core, or diag(sigma_k)); a token without
// an adapter (-1) gets zeros. All projections in one launch.
#include <cuda_fp16.h>
#include <cuda_runtime.h>

namespace lrb::kernels {

struct JdCoreArgs {
  const __half* Z = nullptr;      // [batch][R] = X V
  __half* Zc = nullptr;           // [batch][R]
  const __half* cores = nullptr;  // full: [K][R][R] (row j: output j); diag: [K][R]
};

// args: device array of `projections`; token_adapter: [batch] on the device.
void launch_jd_core(const JdCoreArgs* args, int projections, const int* token_adapter, int batch, int R, bool diag,
                    cudaStream_t stream);

}  // namespace lrb::kernels
