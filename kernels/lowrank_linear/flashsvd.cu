#include "kernels/lowrank_linear/flashsvd.cuh"

#include <algorithm>

#include "kernels/common/cooperative_launch.cuh"
#include "kernels/common/device_limits.cuh"
#include "kernels/common/token_mma.cuh"

namespace lrb::kernels {
namespace {

using namespace token_mma;

constexpr int kThreads = 256;

struct Split {
  InSplit in;
  OutSplit out;
  bool both = false;  // v3: a block holds its input slice and its output rows at once
  __host__ __device__ int in_bytes() const { return round_up(in.shared_bytes(), 16); }
  int shared_bytes() const {
    return both ? in_bytes() + out.shared_bytes() : std::max(in.shared_bytes(), out.shared_bytes());
  }
};

// Each role's tile within kCoresidentBytes: v2's two blocks an SM, v3's two roles in one block.
Split split_of(int d_in, int d_out, int rank, int sms, FlashsvdDecodeKernel k) {
  return {in_split(rank, d_in, sms, kCoresidentBytes), out_split(d_out, rank, sms, kCoresidentBytes),
          k == FlashsvdDecodeKernel::v3};
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

// v3: block b owns input items b, b + G, ... and output items b, b + G, ... (G = gridDim.x; one of each where
// the splits fit the grid, the usual case). Shared memory: [input tile | output tile and staged Z].
__global__ void __launch_bounds__(kThreads) flashsvd_decode_v3(FlashsvdDecodeArgs a, Split s) {
  extern __shared__ __align__(16) unsigned char smem[];
  unsigned char* in_smem = smem;
  unsigned char* out_smem = smem + s.in_bytes();
  const int b = static_cast<int>(blockIdx.x), G = static_cast<int>(gridDim.x), T = a.tokens, ldz = T;
  if (b < s.in.blocks) project_in_issue(a.Vt, a.rank, a.d_in, a.X, T, s.in, b, in_smem);
  cp_async_commit();
  if (b < s.out.blocks) out_prefetch(a.US, a.d_out, a.rank, s.out, b, out_smem);
  cp_async_commit();
  cp_async_wait_group<1>();  // the input slice has landed; the output rows keep coming
  __syncthreads();
  project_in_items(a.Vt, a.rank, a.d_in, a.X, T, s.in, b, G, in_smem, a.Z, ldz);
  arrive(a.counters);
  wait_for(a.counters, G);
  if (b < s.out.blocks) out_stage(a.Z, a.rank, T, s.out, out_smem, ldz);
  // Every block has staged Z once the last one gets here: it leaves the workspace zero for the next launch.
  if (last_to_stage(a.counters + 1, G)) {
    zero_workspace(a.Z, static_cast<int>(flashsvd_decode_z_floats(a.rank, T, FlashsvdDecodeKernel::v3)));
    if (threadIdx.x == 0) a.counters[0] = 0, a.counters[1] = 0;
  }
  out_items(a.US, a.d_out, a.rank, T, s.out, b, G, out_smem, a.Y);
}

// v3's grid: every block resident at once (each waits for all), at most the larger phase's items.
int v3_grid(const Split& s) {
  int per_sm = 0;
  if (cudaOccupancyMaxActiveBlocksPerMultiprocessor(&per_sm, flashsvd_decode_v3, kThreads, s.shared_bytes()) !=
      cudaSuccess)
    return 0;
  return std::min(per_sm * device_sm_count(), std::max(s.in.blocks, s.out.blocks));
}

}  // namespace

bool flashsvd_decode_supported(int tokens, int d_in, int d_out, int rank, FlashsvdDecodeKernel k) {
  if (tokens < 1 || tokens > kFlashsvdDecodeMaxTokens || d_in < 1 || d_out < 1 || rank < 1) return false;
  return split_of(d_in, d_out, rank, device_sm_count(), k).shared_bytes() <= device_shared_limit();
}

int configure_flashsvd_decode(int d_in, int d_out, int rank, FlashsvdDecodeKernel k) {
  const Split s = split_of(d_in, d_out, rank, device_sm_count(), k);
  const int bytes = s.shared_bytes();
  if (k == FlashsvdDecodeKernel::v2) {
    if (bytes > 48 * 1024) cudaFuncSetAttribute(flashsvd_decode, cudaFuncAttributeMaxDynamicSharedMemorySize, bytes);
    return s.in.blocks + s.out.blocks;
  }
  if (bytes > 48 * 1024) cudaFuncSetAttribute(flashsvd_decode_v3, cudaFuncAttributeMaxDynamicSharedMemorySize, bytes);
  return v3_grid(s);
}

void launch_flashsvd_decode(const FlashsvdDecodeArgs& args, cudaStream_t stream) {
  if (args.tokens == 0) return;
  const Split s = split_of(args.d_in, args.d_out, args.rank, device_sm_count(), args.kernel);
  if (args.kernel == FlashsvdDecodeKernel::v2) {
    flashsvd_decode<<<s.in.blocks + s.out.blocks, kThreads, s.shared_bytes(), stream>>>(args, s);
    return;
  }
  launch_cooperative(flashsvd_decode_v3, args.grid, kThreads, s.shared_bytes(), stream, args, s);
}

}  // namespace lrb::kernels
