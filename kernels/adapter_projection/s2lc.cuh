#pragma once
// S2LC fused forward (seed 000): per projection, T = X V_common (shared by all adapters), then
// Y_t (+)= T_t U_k^T with U_k decoded from its stored code in registers, fp32 accumulation.
//
// One launch covers any number of projections (grid.y); each projection is one thread-block cluster of
// kS2lcCluster CTAs. The CTAs split d_in to form partial T and reduce them through distributed shared
// memory, so T never leaves the SMs; then each CTA decodes and applies its slice of U_k's rows. The only
// global writes are Y. Code layouts: methods/s2lc/s2lc_codes.hpp.
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <array>
#include <cstddef>
#include <utility>

namespace lrb::kernels {

constexpr int kS2lcCluster = 8;

enum class S2lcLayout : int { u8x2 = 0, packed = 1, fp16 = 2 };

struct S2lcProjectionArgs {
  const __half* X;               // batch x d_in
  const __half* V;               // d_in x R
  __half* Y;                     // batch x d_out
  const unsigned char* codes;    // K adapters' codes, code_stride bytes apart (a multiple of 16)
  const __half* codebooks;       // K x 24: c1[16] then c2[8] (u8x2, packed)
  int d_in, d_out;
  std::size_t code_stride;
};

// The adapter batch layout (workloads/adapter_projection/batch.hpp) on the device: order[position] =
// token; segment g covers positions [offset[g], offset[g + 1]) and uses adapter[g].
struct S2lcGroups {
  const int* order;
  const int* offset;  // n_groups + 1 entries
  const int* adapter;
  int n_groups;
  int batch;
};

// The instantiated basis ranks and layouts: the one list that dispatch, can_run and the tests read.
using S2lcRanks = std::integer_sequence<int, 8, 16, 32, 64>;
constexpr S2lcLayout kS2lcLayouts[] = {S2lcLayout::u8x2, S2lcLayout::packed, S2lcLayout::fp16};
template <int... Rs>
constexpr bool s2lc_rank_in(int R, std::integer_sequence<int, Rs...>) {
  return ((R == Rs) || ...);
}
constexpr bool s2lc_supported_rank(int R) { return s2lc_rank_in(R, S2lcRanks{}); }
template <int... Rs>
constexpr std::array<int, sizeof...(Rs)> s2lc_rank_array(std::integer_sequence<int, Rs...>) {
  return {Rs...};
}
constexpr auto kS2lcRankList = s2lc_rank_array(S2lcRanks{});

// Local memory (register spills) per thread of the kernel for R and a layout: spills are global-memory
// writes, which would break the "only Y is written" property, so the kernels are built to have none.
std::size_t s2lc_local_memory_bytes(int R, S2lcLayout layout);

// Runs the projections args[0 .. n_projections) (args is a device array). accumulate: Y += adapter part
// (Y holds the base output), else Y = adapter part. Requires compute capability 9.0 (clusters).
// max_d_in: the largest d_in among them (sizes the shared-memory tile of X and V).
void launch_s2lc(const S2lcProjectionArgs* args, int n_projections, const S2lcGroups& groups, int R,
                 S2lcLayout layout, int max_d_in, bool accumulate, cudaStream_t stream);

}  // namespace lrb::kernels
