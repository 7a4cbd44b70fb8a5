#include "kernels/kv_compression/kvtc_per_head.cuh"

#include <mma.h>

#include <algorithm>
#include <mutex>
#include <type_traits>

#include "kernels/common/mma.cuh"
#include "kernels/kv_compression/group_quant.cuh"

namespace lrb::kernels::kvtc {
namespace {

using namespace group_quant;
namespace wmma = nvcuda::wmma;

constexpr int kThreads = 128;  // 4 warps
constexpr int kWarps = kThreads / 32;
constexpr int kWarpRows = 16;  // coded tokens per warp: one WMMA row tile; a warp never waits for another
constexpr int kTileRows = kWarps * kWarpRows;
// The (de)quantizers: two lanes a row, all 16 rows of a warp at once. v3 gave a row 8 lanes (4 rows a pass):
// each group's min/max took 3 shuffle rounds and all 8 lanes computed the same shift and scale; two lanes
// need one round and share that fixed cost between two.
constexpr int kLanesPerRow = 2;
constexpr int kRowsPerPass = 32 / kLanesPerRow;
static_assert(kRowsPerPass == kWarpRows, "one pass covers the warp's rows");

__host__ __device__ constexpr int round_up(int x, int m) { return (x + m - 1) / m * m; }

// Shared memory of one block (byte offsets, each region 128-byte aligned for WMMA's 32-byte rule): the
// stream's kept groups, mean and basis, shared by the block; then one region per warp:
//   a: fp16 [16][lda]: encode's X (lda = D + 8), decode's coefficients C16 (lda = rpad + 8);
//   f: encode's coefficients C, fp32 [16][ldf] (ldf = rpad + 4); decode's finished rows, fp16 [16][ldf]
//      (ldf = D + 8), staged for 16-byte stores (v4 kept Xhat there in fp32: 43 KB a block, 5 blocks an SM;
//      v6 adds the mean and RoPE in the mma registers, so ~27 KB and 8 blocks);
//   rows: the packed rows of the warp (encode: inside region a once the projection has read X).
// v2 sized the fp32 tile by D in both directions (33 KB a block for 16 useful columns at CR 16); sized by
// what each direction holds, encode takes ~28 KB a block at head_dim 128 and r_used 16 (8 blocks an SM).
struct Layout {
  int lda, ldf, ldb, row_words;
  int groups, mean, basis, warp0, a, f, rows, warp_bytes, total;
  __host__ __device__ Layout(int D, int rmax, int max_kept, int max_row_bytes, bool decode) {
    const int rpad = round_up(rmax, 16);
    ldb = D + 8;  // +8 halfs: rows 16 bytes apart in the banks (WMMA loads)
    lda = (decode ? rpad : D) + 8;
    ldf = decode ? D + 8 : rpad + 4;
    row_words = (max_row_bytes + 3) / 4 + 2;
    groups = 0;
    mean = round_up(groups + max_kept * static_cast<int>(sizeof(DeviceGroup)), 128);
    basis = round_up(mean + D * static_cast<int>(sizeof(float)), 128);
    warp0 = round_up(basis + rpad * ldb * 2, 128);
    a = 0;
    f = round_up(kWarpRows * lda * 2, 128);
    const int after_f = round_up(f + kWarpRows * ldf * (decode ? 2 : 4), 128), rows_bytes = kRowsPerPass * row_words * 4;
    // Encode packs its rows after the projection has read X: they share X's region where they fit (so head_dim
    // 128 at CR 16 takes 27.5 KB a block: 8 blocks an SM). Decode fills its rows before the projection.
    const bool share = !decode && rows_bytes <= kWarpRows * lda * 2;
    rows = share ? a : after_f;
    warp_bytes = round_up(share ? after_f : rows + rows_bytes, 128);
    total = warp0 + kWarps * warp_bytes;
  }
};

// The stream's kept groups, mean and basis (rows [rmax, rpad) zero) into shared memory.
template <int D>
__device__ void load_stream(const PerHeadTensor& t, const DeviceStream& st, int s, const Layout& L,
                            unsigned char* smem) {
  auto* gs = reinterpret_cast<DeviceGroup*>(smem + L.groups);
  auto* ms = reinterpret_cast<float*>(smem + L.mean);
  auto* bs = reinterpret_cast<__half*>(smem + L.basis);
  for (int k = threadIdx.x; k < st.kept; k += kThreads) gs[k] = t.kept_groups[st.kept_begin + k];
  for (int j = threadIdx.x; j < D; j += kThreads) ms[j] = t.mean[static_cast<long long>(s) * D + j];
  const int rpad = round_up(t.rmax, 16);
  const __half* b = t.basis + static_cast<long long>(s) * t.rmax * D;
  for (int idx = threadIdx.x; idx < rpad * D / 8; idx += kThreads) {
    const int c = idx / (D / 8), j = idx % (D / 8) * 8;
    uint4 v = make_uint4(0, 0, 0, 0);
    if (c < t.rmax) v = *reinterpret_cast<const uint4*>(b + c * D + j);
    *reinterpret_cast<uint4*>(bs + c * L.ldb + j) = v;
  }
}

// A lane's part of a warp's 16 head vectors: chunk `c` (8 dims, 16 bytes) of rows r0, r0 + step, ... (the
// same chunk in every row, so its mean and RoPE frequencies are the lane's own). RoPE pairs: NeoX pairs dim
// q with q + rot / 2, i.e. chunk c with chunk c + rot / 16 (held by lane + rot / 16, same row); interleaved
// pairs (2q, 2q + 1) inside a chunk. per_head_supported asks rot % 16 == 0 so a chunk is wholly rotated or not.
template <int D>
struct LaneChunks {
  static constexpr int kPerRow = D / 8;                  // chunks of a row
  static constexpr int kCount = kWarpRows * kPerRow / 32;  // chunks of a lane
  static constexpr int kStep = 32 / kPerRow;             // rows between a lane's chunks
  int c, r0;
  enum Role { plain, neox_first, neox_second, interleaved } role;
  int partner, q0;  // the lane holding the NeoX partner chunk; the first frequency of the chunk
  __device__ LaneChunks(int lane, const CacheGeometry& g) : c(lane % kPerRow), r0(lane / kPerRow) {
    const int hc = g.rotary_dims / 16;
    role = plain, partner = lane, q0 = 0;
    if (!g.rope) return;
    if (g.interleaved) {
      if (c < 2 * hc) role = interleaved, q0 = c * 4;
    } else if (c < hc) {
      role = neox_first, partner = lane + hc, q0 = c * 8;
    } else if (c < 2 * hc) {
      role = neox_second, partner = lane - hc, q0 = (c - hc) * 8;
    }
  }
  __device__ int row(int k) const { return r0 + k * kStep; }
};

__device__ __forceinline__ void unpack8(const uint4& v, float* x) {
  const __half2* h = reinterpret_cast<const __half2*>(&v);
#pragma unroll
  for (int e = 0; e < 4; ++e) {
    const float2 f = __half22float2(h[e]);
    x[2 * e] = f.x, x[2 * e + 1] = f.y;
  }
}
__device__ __forceinline__ uint4 pack8(const float* y) {
  uint4 v;
  __half2* h = reinterpret_cast<__half2*>(&v);
#pragma unroll
  for (int e = 0; e < 4; ++e) h[e] = __halves2half2(__float2half_rn(y[2 * e]), __float2half_rn(y[2 * e + 1]));
  return v;
}
__device__ __forceinline__ void load8(const float* p, float* x) {
  const float4 a = *reinterpret_cast<const float4*>(p), b = *reinterpret_cast<const float4*>(p + 4);
  x[0] = a.x, x[1] = a.y, x[2] = a.z, x[3] = a.w, x[4] = b.x, x[5] = b.y, x[6] = b.z, x[7] = b.w;
}
__device__ __forceinline__ void load8_global(const float* p, float* x) {
  const float4 a = __ldg(reinterpret_cast<const float4*>(p)), b = __ldg(reinterpret_cast<const float4*>(p + 4));
  x[0] = a.x, x[1] = a.y, x[2] = a.z, x[3] = a.w, x[4] = b.x, x[5] = b.y, x[6] = b.z, x[7] = b.w;
}

// cos and sin of the chunk's frequencies at position `pos` (NeoX: 8 frequencies, interleaved: 4).
struct Angles {
  float c[8], s[8];
};
template <class Lane>
__device__ __forceinline__ void angles_of(const Lane& ln, const CacheGeometry& g, int pos, Angles& a) {
  const long long at = static_cast<long long>(pos) * (g.rotary_dims / 2) + ln.q0;
  if (ln.role == Lane::interleaved) {
    const float4 c = __ldg(reinterpret_cast<const float4*>(g.cos + at)), s = __ldg(reinterpret_cast<const float4*>(g.sin + at));
    a.c[0] = c.x, a.c[1] = c.y, a.c[2] = c.z, a.c[3] = c.w, a.s[0] = s.x, a.s[1] = s.y, a.s[2] = s.z, a.s[3] = s.w;
  } else {
    load8_global(g.cos + at, a.c), load8_global(g.sin + at, a.s);
  }
}

// One warp: out[M x N n_tiles] (fp32) = A[M x 16 k_tiles] (fp16, row-major) B, where B's 16 x N tile (k, n)
// starts at b + k * b_k + n * b_n with leading dimension ldb in layout BLayout (WMMA shapes 16x16 and 8x32).
template <int M, int N, class BLayout>
__device__ __forceinline__ void warp_gemm(const __half* a, int lda, int k_tiles, const __half* b, int ldb, int b_k,
                                          int b_n, int n_tiles, float* out, int ldo) {
  for (int n = 0; n < n_tiles; ++n) {
    wmma::fragment<wmma::accumulator, M, N, 16, float> acc;
    wmma::fill_fragment(acc, 0.0f);
    for (int k = 0; k < k_tiles; ++k) {
      wmma::fragment<wmma::matrix_a, M, N, 16, __half, wmma::row_major> fa;
      wmma::fragment<wmma::matrix_b, M, N, 16, __half, BLayout> fb;
      wmma::load_matrix_sync(fa, a + k * 16, lda);
      wmma::load_matrix_sync(fb, b + k * b_k + n * b_n, ldb);
      wmma::mma_sync(acc, fa, fb, acc);
    }
    wmma::store_matrix_sync(out + n * N, acc, ldo, wmma::mem_row_major);
  }
}

// Where row i of stream (l, h) lives in the cache.
__device__ __forceinline__ long long cache_at(const CacheGeometry& g, int l, int h, int i, int D) {
  return ((static_cast<long long>(l) * g.tokens + g.first + i) * g.heads + h) * D;
}

// Encode: 8 blocks an SM where shared memory allows (64 registers; unbounded, ptxas takes 80-92 and leaves 5-6).
template <int D>
__global__ void __launch_bounds__(kThreads, 8) per_head_encode(const __half* __restrict__ cache, CacheGeometry g,
                                                            PerHeadTensor t, std::uint8_t* __restrict__ payload) {
  extern __shared__ __align__(128) unsigned char smem[];
  const Layout L(D, t.rmax, t.max_kept, t.max_row_bytes, false);
  const int s = blockIdx.x, l = s / g.heads, h = s % g.heads;
  const DeviceStream st = t.streams[s];
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  const int row0 = blockIdx.y * kTileRows + warp * kWarpRows;
  using Lane = LaneChunks<D>;
  const Lane ln(lane, g);
  // 1. The warp's 16 head vectors, 16 bytes per load, in batches of up to 4 a lane (64 registers: all 8 of
  //    head_dim 128 at once spilled), each batch issued before anything waits on it (rows past the coded
  //    tokens as zeros). The first batch overlaps the stream's setup below.
  constexpr int kBatch = Lane::kCount < 4 ? Lane::kCount : 4;
  uint4 v[kBatch];
  const auto load_batch = [&](int k0) {
#pragma unroll
    for (int b = 0; b < kBatch; ++b) {
      const int i = row0 + ln.row(k0 + b);
      v[b] = make_uint4(0, 0, 0, 0);
      if (i < g.coded) v[b] = __ldcs(reinterpret_cast<const uint4*>(cache + cache_at(g, l, h, i, D) + ln.c * 8));
    }
  };
  load_batch(0);
  load_stream<D>(t, st, s, L, smem);
  __syncthreads();  // the block's only barrier: from here each warp works alone
  if (row0 >= g.coded) return;
  const auto* gs = reinterpret_cast<const DeviceGroup*>(smem + L.groups);
  const auto* ms = reinterpret_cast<const float*>(smem + L.mean);
  const auto* bs = reinterpret_cast<const __half*>(smem + L.basis);
  unsigned char* w = smem + L.warp0 + warp * L.warp_bytes;
  auto* xs = reinterpret_cast<__half*>(w + L.a);
  auto* fs = reinterpret_cast<float*>(w + L.f);
  auto* rows = reinterpret_cast<unsigned*>(w + L.rows);
  const int rpad = round_up(t.rmax, 16);

  // 2. RoPE undone (rotation by -angle, as the CPU path) and the mean subtracted, in registers; X to shared.
  float mean[8];
  load8(ms + ln.c * 8, mean);
  const bool neox = g.rope && !g.interleaved;  // warp-uniform: the shuffles below are the whole warp's
#pragma unroll
  for (int k = 0; k < Lane::kCount; ++k) {
    if (k > 0 && k % kBatch == 0) load_batch(k);
    const uint4 vk = v[k % kBatch];
    const int r = ln.row(k), i = min(row0 + r, g.coded - 1);
    float x[8], y[8];
    unpack8(vk, x);
    uint4 pv = vk;
    if (neox) {
      pv.x = __shfl_sync(0xffffffffu, vk.x, ln.partner), pv.y = __shfl_sync(0xffffffffu, vk.y, ln.partner);
      pv.z = __shfl_sync(0xffffffffu, vk.z, ln.partner), pv.w = __shfl_sync(0xffffffffu, vk.w, ln.partner);
    }
#pragma unroll
    for (int e = 0; e < 8; ++e) y[e] = x[e];
    if (ln.role != Lane::plain) {
      Angles an;
      angles_of(ln, g, g.first + i, an);
      if (ln.role == Lane::interleaved) {
#pragma unroll
        for (int e = 0; e < 4; ++e) {
          const float xa = x[2 * e], xb = x[2 * e + 1];
          y[2 * e] = xa * an.c[e] + xb * an.s[e];
          y[2 * e + 1] = xb * an.c[e] - xa * an.s[e];
        }
      } else {
        float p[8];
        unpack8(pv, p);
        if (ln.role == Lane::neox_first) {
#pragma unroll
          for (int e = 0; e < 8; ++e) y[e] = x[e] * an.c[e] + p[e] * an.s[e];
        } else {
#pragma unroll
          for (int e = 0; e < 8; ++e) y[e] = x[e] * an.c[e] - p[e] * an.s[e];
        }
      }
    }
#pragma unroll
    for (int e = 0; e < 8; ++e) y[e] -= mean[e];
    *reinterpret_cast<uint4*>(xs + r * L.lda + ln.c * 8) = pack8(y);
  }
  __syncwarp();
  // 3. C = X B^T on tensor cores: the warp's 16 rows, every column tile (B^T's tile (k, n) is the
  //    column-major view of the basis rows n).
  warp_gemm<16, 16, wmma::col_major>(xs, L.lda, D / 16, bs, L.ldb, 16, 16 * L.ldb, rpad / 16, fs, L.ldf);
  __syncwarp();
  // 4. Quantize and pack the warp's rows (two lanes a row) into their words, then store the rows, which are
  //    contiguous in the payload, by the whole warp: consecutive lanes, consecutive bytes.
  const int sub = lane / kLanesPerRow, sl = lane % kLanesPerRow;
  unsigned* row = rows + sub * L.row_words;
  for (int wd = sl; wd < L.row_words; wd += kLanesPerRow) row[wd] = 0;
  __syncwarp();
  const float* c = fs + sub * L.ldf;
  for (int k = 0; k < st.kept; ++k) {
    const DeviceGroup gr = gs[k];
    float mn = INFINITY, mx = -INFINITY;
    for (int j = sl; j < gr.size; j += kLanesPerRow) mn = fminf(mn, c[gr.begin + j]), mx = fmaxf(mx, c[gr.begin + j]);
    mn = fminf(mn, __shfl_xor_sync(0xffffffffu, mn, 1));
    mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, 1));
    const ShiftScale q = shift_scale(mn, mx, gr.type);
    if (sl == 0) row[gr.param] = q.shift_bits | (q.scale_bits << 16);
    const int bw = bits_of(gr.type), base = 32 * st.kept + gr.code_bit;
    for (int j = sl; j < gr.size; j += kLanesPerRow) {
      const unsigned code = code_of(c[gr.begin + j], q, gr.type);
      const int pos = base + j * bw, word = pos >> 5, off = pos & 31;
      atomicOr(&row[word], code << off);
      if (off + bw > 32) atomicOr(&row[word + 1], code >> (32 - off));
    }
  }
  __syncwarp();
  const int n = min(kWarpRows, g.coded - row0);
  std::uint8_t* out = payload + st.payload_offset + static_cast<long long>(row0) * st.row_bytes;
  for (int b = lane; b < n * st.row_bytes; b += 32) {
    const int r = b / st.row_bytes;
    out[b] = reinterpret_cast<const std::uint8_t*>(rows + r * L.row_words)[b - r * st.row_bytes];
  }
}

template <int D>
__global__ void __launch_bounds__(kThreads, 8) per_head_decode(const std::uint8_t* __restrict__ payload,
                                                            CacheGeometry g, PerHeadTensor t,
                                                            __half* __restrict__ cache) {
  extern __shared__ __align__(128) unsigned char smem[];
  const Layout L(D, t.rmax, t.max_kept, t.max_row_bytes, true);
  const int s = blockIdx.x, l = s / g.heads, h = s % g.heads;
  const DeviceStream st = t.streams[s];
  load_stream<D>(t, st, s, L, smem);
  __syncthreads();  // the block's only barrier: from here each warp works alone
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  const int row0 = blockIdx.y * kTileRows + warp * kWarpRows;
  if (row0 >= g.coded) return;
  const auto* gs = reinterpret_cast<const DeviceGroup*>(smem + L.groups);
  const auto* ms = reinterpret_cast<const float*>(smem + L.mean);
  const auto* bs = reinterpret_cast<const __half*>(smem + L.basis);
  unsigned char* w = smem + L.warp0 + warp * L.warp_bytes;
  auto* cs = reinterpret_cast<__half*>(w + L.a);  // coefficients, fp16 [16][rpad]
  auto* rows = reinterpret_cast<unsigned*>(w + L.rows);
  const int rpad = round_up(t.rmax, 16);
  const int sub = lane / kLanesPerRow, sl = lane % kLanesPerRow;

  // 1. The warp's rows (contiguous in the payload) loaded by the whole warp, byte after byte, into their word
  //    buffers; then two lanes a row unpack and dequantize into C16 (dropped, padding and rows past the end: 0).
  for (int wd = lane; wd < kWarpRows * L.row_words; wd += 32) rows[wd] = 0;
  for (int idx = lane; idx < kWarpRows * rpad; idx += 32) cs[idx / rpad * L.lda + idx % rpad] = __float2half_rn(0.0f);
  __syncwarp();
  {
    const int n = min(kWarpRows, g.coded - row0);
    const std::uint8_t* in = payload + st.payload_offset + static_cast<long long>(row0) * st.row_bytes;
    for (int b = lane; b < n * st.row_bytes; b += 32) {
      const int r = b / st.row_bytes;
      reinterpret_cast<std::uint8_t*>(rows + r * L.row_words)[b - r * st.row_bytes] = in[b];
    }
  }
  __syncwarp();
  if (row0 + sub < g.coded) {
    const unsigned* row = rows + sub * L.row_words;
    __half* c = cs + sub * L.lda;
    for (int k = 0; k < st.kept; ++k) {
      const DeviceGroup gr = gs[k];
      const unsigned param = row[gr.param];
      const float shift = half_bits_value(param & 0xFFFFu), scale = half_bits_value(param >> 16);
      const int bw = bits_of(gr.type), base = 32 * st.kept + gr.code_bit;
      const unsigned mask = (1u << bw) - 1;
      for (int j = sl; j < gr.size; j += kLanesPerRow) {
        const int pos = base + j * bw, word = pos >> 5, off = pos & 31;
        const unsigned long long pair = row[word] | (static_cast<unsigned long long>(row[word + 1]) << 32);
        c[gr.begin + j] = __float2half_rn(value_of(static_cast<unsigned>(pair >> off) & mask, shift, scale, gr.type));
      }
    }
  }
  __syncwarp();
  // 2. Xhat = C16 B with the mean added and RoPE re-applied in the accumulators: mma.sync m16n8k16 over the
  //    warp's 16 rows, one n8 tile of head dims at a time; lane (group, tig) holds rows group and group + 8 at
  //    dims 8 j + 2 tig, +1. NeoX pairs dim q with q + rot / 2: tile j with tile j + rot / 16, same lane and
  //    slot, so the pair is computed together; interleaved pairs are the lane's two adjacent dims. The rows are
  //    rounded to fp16 into the warp's output tile (v5 stored Xhat in fp32 to shared memory and read it back,
  //    with the partner chunk and the mean: the L1 pipe was 93% busy in the keys' decode).
  const int grp = lane / 4, tig = lane % 4;
  const bool neox = g.rope && !g.interleaved;
  const int rot_tiles = g.rope ? g.rotary_dims / 8 : 0, pair_tiles = neox ? rot_tiles / 2 : 0;
  const long long at_lo = static_cast<long long>(g.first + min(row0 + grp, g.coded - 1)) * (g.rotary_dims / 2);
  const long long at_hi = static_cast<long long>(g.first + min(row0 + grp + 8, g.coded - 1)) * (g.rotary_dims / 2);
  __half* os = reinterpret_cast<__half*>(w + L.f);
  const auto put = [&](int row, int col, float y0, float y1) {
    *reinterpret_cast<std::uint32_t*>(os + row * L.ldf + col) = pack_halves(__float2half_rn(y0), __float2half_rn(y1));
  };
  for (int j = 0; j < D / 8; ++j) {
    if (j >= pair_tiles && j < 2 * pair_tiles) continue;  // a NeoX partner, done with tile j - rot / 16
    const bool pair = j < pair_tiles;
    const int j2 = pair ? j + pair_tiles : j;
    float c0[4] = {0.0f, 0.0f, 0.0f, 0.0f}, c1[4] = {0.0f, 0.0f, 0.0f, 0.0f};
    for (int k = 0; k < rpad / 16; ++k) {
      std::uint32_t a[4], b[4];
      load_a_16x16(a, cs + k * 16, L.lda, lane);
      load_b_16x8_pair(b, bs + k * 16 * L.ldb, L.ldb, 8 * j, 8 * j2, lane);
      mma_16816(c0, a[0], a[1], a[2], a[3], b[0], b[1]);
      if (pair) mma_16816(c1, a[0], a[1], a[2], a[3], b[2], b[3]);
    }
    const int col = 8 * j + 2 * tig, col2 = 8 * j2 + 2 * tig;
    const float2 m = *reinterpret_cast<const float2*>(ms + col);
    const float x[4] = {c0[0] + m.x, c0[1] + m.y, c0[2] + m.x, c0[3] + m.y};  // (row lo: col, col + 1), (row hi)
    if (pair) {
      // out[q] = x[q] cos - x[q + rot/2] sin, out[q + rot/2] = x[q] sin + x[q + rot/2] cos; frequency q = col.
      const float2 m2 = *reinterpret_cast<const float2*>(ms + col2);
      const float p[4] = {c1[0] + m2.x, c1[1] + m2.y, c1[2] + m2.x, c1[3] + m2.y};
      const float2 cl = __ldg(reinterpret_cast<const float2*>(g.cos + at_lo + col));
      const float2 sl = __ldg(reinterpret_cast<const float2*>(g.sin + at_lo + col));
      const float2 ch = __ldg(reinterpret_cast<const float2*>(g.cos + at_hi + col));
      const float2 sh = __ldg(reinterpret_cast<const float2*>(g.sin + at_hi + col));
      put(grp, col, x[0] * cl.x - p[0] * sl.x, x[1] * cl.y - p[1] * sl.y);
      put(grp + 8, col, x[2] * ch.x - p[2] * sh.x, x[3] * ch.y - p[3] * sh.y);
      put(grp, col2, p[0] * cl.x + x[0] * sl.x, p[1] * cl.y + x[1] * sl.y);
      put(grp + 8, col2, p[2] * ch.x + x[2] * sh.x, p[3] * ch.y + x[3] * sh.y);
    } else if (g.rope && g.interleaved && j < rot_tiles) {
      // The pair (2 i, 2 i + 1) with i = col / 2: out = (x0 cos - x1 sin, x0 sin + x1 cos).
      const float cl = __ldg(g.cos + at_lo + col / 2), sl = __ldg(g.sin + at_lo + col / 2);
      const float ch = __ldg(g.cos + at_hi + col / 2), sh = __ldg(g.sin + at_hi + col / 2);
      put(grp, col, x[0] * cl - x[1] * sl, x[0] * sl + x[1] * cl);
      put(grp + 8, col, x[2] * ch - x[3] * sh, x[2] * sh + x[3] * ch);
    } else {
      put(grp, col, x[0], x[1]);
      put(grp + 8, col, x[2], x[3]);
    }
  }
  __syncwarp();
  // 3. The warp's finished rows to the cache, 16 bytes a store (a warp's store covers two whole rows at head_dim
  //    128).
  using Lane = LaneChunks<D>;
  const Lane ln(lane, g);
#pragma unroll
  for (int k = 0; k < Lane::kCount; ++k) {
    const int r = ln.row(k), i = row0 + r;
    if (i < g.coded)
      __stcs(reinterpret_cast<uint4*>(cache + cache_at(g, l, h, i, D) + ln.c * 8),
             *reinterpret_cast<const uint4*>(os + r * L.ldf + ln.c * 8));
  }
}

Layout layout_of(const CacheGeometry& g, const PerHeadTensor& t, bool decode) {
  return Layout(g.head_dim, t.rmax, t.max_kept, t.max_row_bytes, decode);
}

template <class F>
bool with_head_dim(int D, F&& f) {
  switch (D) {
    case 32: f(std::integral_constant<int, 32>{}); return true;
    case 64: f(std::integral_constant<int, 64>{}); return true;
    case 128: f(std::integral_constant<int, 128>{}); return true;
    default: return false;
  }
}

// A block per (stream, tile of 64 tokens): enough blocks in flight to hide the loads' latency (v2's first
// form gave each block a stream's 14 tiles in turn: 4.4 ms where 0.2 was the floor, on an H200); each block
// reads its stream's basis again, from L2. Streams are the grid's x (v5; v4 had tiles there): blocks start in
// x order, so those in flight share one tile of tokens: every head and layer of the same 64 positions, i.e.
// whole contiguous [token][head][dim] rows of the cache, and the same 64 rows of the RoPE tables (L1-hot)
// instead of 14 tiles' worth scattered over the cache.
constexpr int kMaxTiles = 65535;  // gridDim.y
dim3 grid_of(const CacheGeometry& g) {
  const int streams = g.layers * g.heads, tiles = (g.coded + kTileRows - 1) / kTileRows;
  return dim3(streams, std::max(1, tiles));
}

}  // namespace

int per_head_shared_bytes(const CacheGeometry& g, const PerHeadTensor& t) {
  return std::max(layout_of(g, t, false).total, layout_of(g, t, true).total);
}

bool per_head_supported(const CacheGeometry& g, const PerHeadTensor& t, int smem_limit) {
  if (!g.per_head || (g.head_dim != 32 && g.head_dim != 64 && g.head_dim != 128)) return false;
  // A lane's chunk of 8 dims is wholly rotated or not, its NeoX partner a whole chunk away.
  if (g.rope && (g.rotary_dims % 16 != 0 || g.rotary_dims > g.head_dim)) return false;
  if ((g.coded + kTileRows - 1) / kTileRows > kMaxTiles) return false;
  return t.rmax > 0 && per_head_shared_bytes(g, t) <= smem_limit;
}

void configure_per_head(const CacheGeometry& g, const PerHeadTensor& t) {
  // The limit is the kernel's, for every launch of it in the process (other tensors, other method instances):
  // it only ever grows, so configuring a smaller plan never breaks a larger one prepared before.
  static std::mutex mutex;
  static int limit[2][129] = {};  // [decode][head_dim]
  const std::lock_guard<std::mutex> lock(mutex);
  with_head_dim(g.head_dim, [&](auto d) {
    constexpr int D = decltype(d)::value;
    for (const bool decode : {false, true}) {
      int& at = limit[decode][D];
      const int need = layout_of(g, t, decode).total;
      if (need <= at) continue;
      at = need;
      if (decode) cudaFuncSetAttribute(per_head_decode<D>, cudaFuncAttributeMaxDynamicSharedMemorySize, need);
      else cudaFuncSetAttribute(per_head_encode<D>, cudaFuncAttributeMaxDynamicSharedMemorySize, need);
    }
  });
}

void launch_per_head_encode(const __half* cache, const CacheGeometry& g, const PerHeadTensor& t,
                            std::uint8_t* payload, cudaStream_t stream) {
  if (g.coded == 0) return;
  const int bytes = layout_of(g, t, false).total;
  with_head_dim(g.head_dim, [&](auto d) {
    per_head_encode<decltype(d)::value><<<grid_of(g), kThreads, bytes, stream>>>(cache, g, t, payload);
  });
}

void launch_per_head_decode(const std::uint8_t* payload, const CacheGeometry& g, const PerHeadTensor& t,
                            __half* cache, cudaStream_t stream) {
  if (g.coded == 0) return;
  const int bytes = layout_of(g, t, true).total;
  with_head_dim(g.head_dim, [&](auto d) {
    per_head_decode<decltype(d)::value><<<grid_of(g), kThreads, bytes, stream>>>(payload, g, t, cache);
  });
}

}  // namespace lrb::kernels::kvtc
