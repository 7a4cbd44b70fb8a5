#include "kernels/adapter_projection/punica.cuh"

#include <algorithm>
#include <cstdint>

#include "kernels/common/pdl.cuh"

namespace lrb::kernels {
namespace {

constexpr int kThreads = 256, kWarps = kThreads / 32;
constexpr int kShrinkTokens = 8;   // tokens of a segment a shrink warp carries at once (one A load, 8 dot products)
constexpr int kExpandTokens = 32;  // T rows staged at once by an expand block
static_assert(kLoraMaxRank == 64, "lora_expand's rank buckets stop at 64");

__device__ __forceinline__ int ceil_div(int a, int b) { return (a + b - 1) / b; }

__device__ __forceinline__ float warp_sum(float v) {
#pragma unroll
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  return v;
}

// dot of 8 halfs (a 16-byte load each) in fp32.
__device__ __forceinline__ float dot8(const uint4& a, const uint4& x) {
  const auto* ah = reinterpret_cast<const __half2*>(&a);
  const auto* xh = reinterpret_cast<const __half2*>(&x);
  float s = 0.0f;
#pragma unroll
  for (int q = 0; q < 4; ++q) {
    const float2 af = __half22float2(ah[q]), xf = __half22float2(xh[q]);
    s = fmaf(af.x, xf.x, s);
    s = fmaf(af.y, xf.y, s);
  }
  return s;
}

// Block (segment s, d_in slice q) of projection blockIdx.y: for each rank row j (warp-strided), the slice's dot
// products of A_k[j] with up to kShrinkTokens of the segment's tokens at a time (A's 16 bytes loaded once for
// all of them), reduced over the warp and added into T.
__global__ void __launch_bounds__(kThreads) lora_shrink(LoraLaunch l) {
  // The fused pass's GEMM, launched after this as a programmatic dependent, may start streaming W now; it waits for
  // this grid's completion before it reads T (a no-op where the next kernel is not a dependent).
  grid_dependents_launch();
  const LoraProjectionArgs P = l.projections[blockIdx.y];
  const int s = static_cast<int>(blockIdx.x) / l.shrink_splits, q = static_cast<int>(blockIdx.x) % l.shrink_splits;
  if (s >= l.segments) return;
  const int slice = (ceil_div(P.d_in, l.shrink_splits) + 7) / 8 * 8;
  const int c0 = q * slice, c1 = min(P.d_in, c0 + slice);
  if (c0 >= c1) return;
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  const int k = l.seg_adapter[s], t0 = l.seg_offset[s], t1 = l.seg_offset[s + 1];
  if (k < 0) return;  // tokens with no adapter: their T rows stay 0 (the expand skips them too)
  const __half* A = P.A + static_cast<long long>(k) * l.rank * P.d_in;
  const bool vec = P.d_in % 8 == 0;  // every row 16-byte aligned; c0 and c1 multiples of 8
  for (int tg = t0; tg < t1; tg += kShrinkTokens) {
    const int nt = min(kShrinkTokens, t1 - tg);
    const __half* xr[kShrinkTokens];
    int tok[kShrinkTokens];
#pragma unroll
    for (int i = 0; i < kShrinkTokens; ++i) {
      tok[i] = l.order[tg + min(i, nt - 1)];
      xr[i] = P.X + static_cast<long long>(tok[i]) * P.d_in;
    }
    for (int j = warp; j < l.rank; j += kWarps) {
      const __half* ar = A + static_cast<long long>(j) * P.d_in;
      float acc[kShrinkTokens] = {};
      if (vec) {
#pragma unroll 4
        for (int c = c0 + 8 * lane; c < c1; c += 256) {
          const uint4 a = __ldg(reinterpret_cast<const uint4*>(ar + c));
#pragma unroll
          for (int i = 0; i < kShrinkTokens; ++i)
            if (i < nt) acc[i] += dot8(a, __ldg(reinterpret_cast<const uint4*>(xr[i] + c)));
        }
      } else {
        for (int c = c0 + lane; c < c1; c += 32) {
          const float a = __half2float(ar[c]);
#pragma unroll
          for (int i = 0; i < kShrinkTokens; ++i)
            if (i < nt) acc[i] = fmaf(a, __half2float(xr[i][c]), acc[i]);
        }
      }
#pragma unroll
      for (int i = 0; i < kShrinkTokens; ++i) {
        if (i >= nt) break;
        const float v = warp_sum(acc[i]);
        if (lane == 0) atomicAdd(P.T + static_cast<long long>(tok[i]) * l.rank + j, v);
      }
    }
  }
}

// Block (segment s, 256 output rows) of projection blockIdx.y: each thread holds its row of B_k in registers
// (r <= 64 halfs) and, for each token of the segment (T rows staged in shared memory, kExpandTokens at a time),
// writes Y[t, o] = (Y[t, o] +) s_k T[t] . B_k[o].
// kR: the rank rounded up to 8, 16, 32 or 64, so a thread holds only as many registers of B as the rank needs
// (v1 held 64 halfs at every rank: 114 registers, 2 blocks an SM, too few loads in flight for a kernel that
// is all B rows; results/h100/punica_v1).
template <int kR>
__global__ void __launch_bounds__(kThreads) lora_expand(LoraLaunch l) {
  __shared__ __align__(16) float ts[kExpandTokens][kR];
  const LoraProjectionArgs P = l.projections[blockIdx.y];
  const int tiles = ceil_div(l.max_d_out, kThreads);
  const int s = static_cast<int>(blockIdx.x) / tiles, tile = static_cast<int>(blockIdx.x) % tiles;
  if (s >= l.segments || tile * kThreads >= P.d_out) return;  // uniform over the block
  const int o = tile * kThreads + static_cast<int>(threadIdx.x), r = l.rank;
  const bool live = o < P.d_out;
  const int k = l.seg_adapter[s], t0 = l.seg_offset[s], t1 = l.seg_offset[s + 1];
  if (k < 0) {  // no adapter (uniform over the block, before any barrier): Y keeps the base, or is 0 adapter-only
    if (live && !l.accumulate)
      for (int i = t0; i < t1; ++i) P.Y[static_cast<long long>(l.order[i]) * P.d_out + o] = __float2half(0.0f);
    return;
  }
  const float scale = P.scale[k];
  __half2 b[kR / 2];
#pragma unroll
  for (int jj = 0; jj < kR / 2; ++jj) b[jj] = __float2half2_rn(0.0f);
  if (live) {
    const __half* br = P.B + (static_cast<long long>(k) * P.d_out + o) * r;
    if (r % 8 == 0) {  // the row is 16-byte aligned
#pragma unroll
      for (int v = 0; v < kR / 8; ++v) {
        if (8 * v >= r) break;
        const uint4 w = __ldg(reinterpret_cast<const uint4*>(br) + v);
        const auto* wh = reinterpret_cast<const __half2*>(&w);
        b[4 * v] = wh[0], b[4 * v + 1] = wh[1], b[4 * v + 2] = wh[2], b[4 * v + 3] = wh[3];
      }
    } else {
#pragma unroll
      for (int jj = 0; jj < kR / 2; ++jj) {
        if (2 * jj >= r) break;
        b[jj] = __halves2half2(br[2 * jj], 2 * jj + 1 < r ? br[2 * jj + 1] : __float2half(0.0f));
      }
    }
  }
  for (int tc = t0; tc < t1; tc += kExpandTokens) {
    const int nt = min(kExpandTokens, t1 - tc);
    __syncthreads();  // the previous chunk's rows are read
    for (int e = threadIdx.x; e < nt * kR; e += kThreads) {
      const int i = e / kR, j = e % kR;
      ts[i][j] = j < r ? P.T[static_cast<long long>(l.order[tc + i]) * r + j] : 0.0f;
    }
    __syncthreads();
    if (!live) continue;
    for (int i = 0; i < nt; ++i) {
      float acc = 0.0f;
#pragma unroll
      for (int jj = 0; jj < kR / 2; ++jj) {
        if (2 * jj >= r) break;
        const float2 bf = __half22float2(b[jj]);
        const float2 tf = *reinterpret_cast<const float2*>(&ts[i][2 * jj]);
        acc = fmaf(bf.x, tf.x, acc);
        acc = fmaf(bf.y, tf.y, acc);
      }
      __half* y = P.Y + static_cast<long long>(l.order[tc + i]) * P.d_out + o;
      const float v = scale * acc;
      *y = __float2half_rn(l.accumulate ? __half2float(*y) + v : v);
    }
  }
}

}  // namespace

int shrink_splits_for(int segments, int n_projections, int max_d_in, int sm_count) {
  const long long blocks = static_cast<long long>(segments) * n_projections;
  const long long want = 2LL * sm_count;
  if (blocks >= want) return 1;
  const int most = std::max(1, max_d_in / 512);
  return static_cast<int>(std::min<long long>(most, (want + blocks - 1) / blocks));
}

void launch_lora_shrink(const LoraLaunch& l, cudaStream_t stream) {
  if (l.segments == 0 || l.n_projections == 0) return;
  lora_shrink<<<dim3(static_cast<unsigned>(l.segments * l.shrink_splits), static_cast<unsigned>(l.n_projections)),
                kThreads, 0, stream>>>(l);
}

void launch_lora_expand(const LoraLaunch& l, cudaStream_t stream) {
  if (l.segments == 0 || l.n_projections == 0) return;
  const int tiles = (l.max_d_out + kThreads - 1) / kThreads;
  const dim3 grid(static_cast<unsigned>(l.segments * tiles), static_cast<unsigned>(l.n_projections));
  if (l.rank <= 8) lora_expand<8><<<grid, kThreads, 0, stream>>>(l);
  else if (l.rank <= 16) lora_expand<16><<<grid, kThreads, 0, stream>>>(l);
  else if (l.rank <= 32) lora_expand<32><<<grid, kThreads, 0, stream>>>(l);
  else lora_expand<64><<<grid, kThreads, 0, stream>>>(l);
}

}  // namespace lrb::kernels
