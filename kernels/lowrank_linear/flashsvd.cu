#include "kernels/lowrank_linear/flashsvd.cuh"

#include <algorithm>
#include <cstdint>

#include "kernels/common/device_limits.cuh"
#include "kernels/common/token_mma.cuh"

namespace lrb::kernels {
namespace {

using namespace token_mma;

constexpr int kThreads = 256;
constexpr int kBlockRows = kProjectOutRows;

// Phase 1 over (64 rank components, a d_in slice), phase 2 over 64 output rows.
struct Split {
  InSplit in;
  int p2, rpad;
  int shared_bytes() const { return std::max(in.shared_bytes(), kTokens * (rpad + 8) * 2 + kProjectOutReduceBytes); }
};

Split split_of(int d_in, int d_out, int rank, int sms) {
  return {in_split(rank, d_in, sms), ceil_div(d_out, kBlockRows), round_up(rank, 32)};
}

__global__ void __launch_bounds__(kThreads) flashsvd_decode(FlashsvdDecodeArgs a, Split s) {
  extern __shared__ __align__(16) unsigned char smem[];
  auto* bs = reinterpret_cast<__half*>(smem);
  const int T = a.tokens, p1 = s.in.blocks;
  if (static_cast<int>(blockIdx.x) < p1) {
    // Phase 1: Z^T += Vt[64 rows, d_in slice] X[:, slice]^T, into Z [T][r] in L2.
    project_in(a.Vt, a.rank, a.d_in, a.X, T, s.in, blockIdx.x, bs, a.Z);
    arrive(a.counters);
    return;
  }
  // Phase 2: every phase-1 block arrived; Z staged as fp16 [16][rpad]; Y^T[o0 .. o0 + 64, :] = US Z^T.
  wait_for(a.counters, p1);
  const int ldb = s.rpad + 8;
  stage_fp32(a.Z, a.rank, T, a.rank, bs, ldb, s.rpad);
  if (last_to_stage(a.counters + 1, s.p2)) {
    // Every phase-2 block has staged Z: leave the workspace zero for the next launch.
    for (int e = threadIdx.x; e < T * a.rank; e += kThreads) a.Z[e] = 0.0f;
    if (threadIdx.x == 0) a.counters[0] = 0, a.counters[1] = 0;
  }
  project_out(a.US, a.d_out, a.rank, s.rpad, bs, ldb, T, (blockIdx.x - p1) * kBlockRows,
              reinterpret_cast<float*>(smem + kTokens * ldb * 2), a.Y);
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
  flashsvd_decode<<<s.in.blocks + s.p2, kThreads, s.shared_bytes(), stream>>>(args, s);
}

}  // namespace lrb::kernels
