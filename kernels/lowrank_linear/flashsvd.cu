#include "kernels/lowrank_linear/flashsvd.cuh"

#include <algorithm>

#include "kernels/common/device_limits.cuh"
#include "kernels/common/token_mma.cuh"

namespace lrb::kernels {
namespace {

using namespace token_mma;

constexpr int kThreads = 256;

struct Split {
  InSplit in;
  OutSplit out;
  int shared_bytes() const { return std::max(in.shared_bytes(), out.shared_bytes()); }
};

Split split_of(int d_in, int d_out, int rank, int sms) {
  return {in_split(rank, d_in, sms, kCoresidentBytes), out_split(d_out, rank, sms, kCoresidentBytes)};
}

__global__ void __launch_bounds__(kThreads) flashsvd_decode(FlashsvdDecodeArgs a, Split s) {
  extern __shared__ __align__(16) unsigned char smem[];
  const int block = static_cast<int>(blockIdx.x), p1 = s.in.blocks;
  if (block < p1) {
    // Phase 1: Z^T += Vt[rows, slice] X[:, slice]^T.
    project_in(a.Vt, a.rank, a.d_in, a.X, a.tokens, s.in, block, smem, a.Z);
    arrive(a.counters);
    return;
  }
  // Phase 2: US's rows first (they do not depend on Z), then every phase-1 block's arrival, Z staged as fp16,
  // Y^T[rows] = US[rows] Z^T.
  out_prefetch(a.US, a.d_out, a.rank, s.out, block - p1, smem);
  wait_for(a.counters, p1);
  out_stage(a.Z, a.rank, a.tokens, s.out, smem);
  out_finish(a.d_out, a.tokens, s.out, block - p1, smem, a.Y);
  // Off the critical path: once every phase-2 block has staged Z, the last one leaves the workspace zero for
  // the next launch.
  if (last_to_stage(a.counters + 1, s.out.blocks)) {
    zero_workspace(a.Z, a.rank * kTokens);
    if (threadIdx.x == 0) a.counters[0] = 0, a.counters[1] = 0;
  }
}

}  // namespace

bool flashsvd_decode_supported(int tokens, int d_in, int d_out, int rank) {
  if (tokens < 1 || tokens > kFlashsvdDecodeMaxTokens || d_in < 1 || d_out < 1 || rank < 1) return false;
  return split_of(d_in, d_out, rank, device_sm_count()).shared_bytes() <= device_shared_limit();
}

void configure_flashsvd_decode(int d_in, int d_out, int rank) {
  const int bytes = split_of(d_in, d_out, rank, device_sm_count()).shared_bytes();
  if (bytes > 48 * 1024) cudaFuncSetAttribute(flashsvd_decode, cudaFuncAttributeMaxDynamicSharedMemorySize, bytes);
}

void launch_flashsvd_decode(const FlashsvdDecodeArgs& args, cudaStream_t stream) {
  if (args.tokens == 0) return;
  const Split s = split_of(args.d_in, args.d_out, args.rank, device_sm_count());
  flashsvd_decode<<<s.in.blocks + s.out.blocks, kThreads, s.shared_bytes(), stream>>>(args, s);
}

}  // namespace lrb::kernels
