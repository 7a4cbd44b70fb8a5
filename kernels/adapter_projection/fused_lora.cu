#include "kernels/adapter_projection/fused_lora.cuh"

#include <cstdint>
#include <stdexcept>
#include <string>

#include "kernels/common/mma.cuh"
#include "kernels/common/pdl.cuh"
#include "kernels/common/token_mma.cuh"

namespace lrb::kernels {
namespace {

using token_mma::cp_async_commit;
using token_mma::cp_async_wait_group;
using token_mma::stage_rows_async;

constexpr int kThreads = 256, kWarps = kThreads / 32;
constexpr int kRows = 16 * kWarps;  // output rows (d_out) a block: one m16 tile a warp
constexpr int kBK = 64;             // d_in columns a pipeline stage
constexpr int kLd = kBK + 8;        // staged row stride in halfs: 144 bytes, so ldmatrix's 8 rows hit 8 bank groups
constexpr int kStages = 4;          // W tiles in flight a block (3 loading while one is multiplied)
constexpr int kCld = kRows + 4;     // the epilogue's fp32 [token][row] tile stride

constexpr int pipeline_bytes(int tokens) { return kStages * (kRows + tokens) * kLd * 2; }
constexpr int epilogue_bytes(int tokens) { return tokens * kCld * 4 + tokens * 64 * 4 + tokens * 8; }
constexpr int smem_bytes(int tokens) {
  return pipeline_bytes(tokens) > epilogue_bytes(tokens) ? pipeline_bytes(tokens) : epilogue_bytes(tokens);
}

// B fragments of two n8 tiles (tokens n0 .. n0 + 15) for k-step k of X staged [token][k] (k contiguous): the
// non-transposed ldmatrix of [token][k] rows is the col-major B operand. r[0], r[1]: tokens n0..; r[2], r[3]: n0+8..
__device__ __forceinline__ void load_b_tokens_x4(std::uint32_t (&r)[4], const __half* xs, int n0, int k, int lane) {
  const int m = lane / 8;  // matrix m: tokens n0 + 8 (m / 2) .., columns k + 8 (m % 2) ..
  const __half* p = xs + (n0 + 8 * (m / 2) + lane % 8) * kLd + k + 8 * (m % 2);
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0,%1,%2,%3}, [%4];\n"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
               : "r"(shared_address(p)));
}
// The same for one n8 tile.
__device__ __forceinline__ void load_b_tokens_x2(std::uint32_t (&r)[2], const __half* xs, int n0, int k, int lane) {
  const int l = lane % 16, m = l / 8;
  const __half* p = xs + (n0 + l % 8) * kLd + k + 8 * m;
  asm volatile("ldmatrix.sync.aligned.m8n8.x2.shared.b16 {%0,%1}, [%2];\n"
               : "=r"(r[0]), "=r"(r[1])
               : "r"(shared_address(p)));
}

// Block (tile of kRows output rows, projection blockIdx.y); NT n8 tiles of tokens.
template <int NT>
__global__ void __launch_bounds__(kThreads, 2) fused_lora_gemm(FusedLoraLaunch l) {
  constexpr int kTok = 8 * NT;
  extern __shared__ __align__(16) unsigned char smem[];
  const FusedLoraProjection P = l.projections[blockIdx.y];
  const int o0 = static_cast<int>(blockIdx.x) * kRows;
  if (o0 >= P.d_out) return;  // a narrower projection of the table
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  __half* ws = reinterpret_cast<__half*>(smem);  // [kStages][kRows][kLd]
  __half* xs = ws + kStages * kRows * kLd;       // [kStages][kTok][kLd]
  const int ksteps = (P.d_in + kBK - 1) / kBK;
  // W rows [o0, o0 + kRows) and the tokens' X rows, columns [kBK kt, + kBK): cp.async where 16-byte aligned,
  // zeros past d_out, d_in and the batch.
  auto load_stage = [&](int stage, int kt) {
    stage_rows_async(P.W, P.d_in, P.d_out, P.d_in, o0, kt * kBK, kRows, kBK, ws + stage * kRows * kLd, kLd);
    stage_rows_async(P.X, P.d_in, l.tokens, P.d_in, 0, kt * kBK, kTok, kBK, xs + stage * kTok * kLd, kLd);
  };
#pragma unroll
  for (int s = 0; s < kStages - 1; ++s) {
    if (s < ksteps) load_stage(s, s);
    cp_async_commit();
  }
  float acc[NT][4];
#pragma unroll
  for (int j = 0; j < NT; ++j) acc[j][0] = acc[j][1] = acc[j][2] = acc[j][3] = 0.0f;
  for (int kt = 0; kt < ksteps; ++kt) {
    cp_async_wait_group<kStages - 2>();  // stage kt has landed (this thread's copies) ...
    __syncthreads();                     // ... everyone's; and stage kt - 1 is free
    const int next = kt + kStages - 1;
    if (next < ksteps) load_stage(next % kStages, next);
    cp_async_commit();
    const __half* wt = ws + (kt % kStages) * kRows * kLd + warp * 16 * kLd;
    const __half* xt = xs + (kt % kStages) * kTok * kLd;
#pragma unroll
    for (int k = 0; k < kBK; k += 16) {
      std::uint32_t a[4];
      load_a_16x16(a, wt + k, kLd, lane);
#pragma unroll
      for (int j = 0; j + 1 < NT; j += 2) {
        std::uint32_t b[4];
        load_b_tokens_x4(b, xt, 8 * j, k, lane);
        mma_16816(acc[j], a[0], a[1], a[2], a[3], b[0], b[1]);
        mma_16816(acc[j + 1], a[0], a[1], a[2], a[3], b[2], b[3]);
      }
      if constexpr (NT % 2 == 1) {
        std::uint32_t b[2];
        load_b_tokens_x2(b, xt, 8 * (NT - 1), k, lane);
        mma_16816(acc[NT - 1], a[0], a[1], a[2], a[3], b[0], b[1]);
      }
    }
  }
  cp_async_wait_group<0>();
  __syncthreads();  // the pipeline's shared memory becomes the epilogue's
  // T comes from the shrink launched just before this kernel, which may still be running: this kernel is launched
  // as its programmatic dependent (PDL), so W's stream above overlaps the shrink; wait for it (its completion and
  // memory) only here, before T is read.
  grid_dependency_wait();

  // Epilogue: the base tile to shared memory as fp32 [token][row]; the tokens' T rows, adapters and scales.
  float* cs = reinterpret_cast<float*>(smem);
  float* ts = cs + kTok * kCld;                                // [tokens][rank]
  int* ta = reinterpret_cast<int*>(ts + kTok * 64);            // [tokens]
  float* sc = reinterpret_cast<float*>(ta + kTok);             // [tokens]
  {
    const int grp = lane / 4, tig = lane % 4, m = warp * 16 + grp;
#pragma unroll
    for (int j = 0; j < NT; ++j) {
      const int n = 8 * j + 2 * tig;
      cs[n * kCld + m] = acc[j][0];
      cs[(n + 1) * kCld + m] = acc[j][1];
      cs[n * kCld + m + 8] = acc[j][2];
      cs[(n + 1) * kCld + m + 8] = acc[j][3];
    }
  }
  const int r = l.rank;
  for (int e = threadIdx.x; e < l.tokens * r; e += kThreads) ts[e] = P.T[e];
  for (int t = threadIdx.x; t < l.tokens; t += kThreads) {
    const int k = l.token_adapter[t];
    ta[t] = k;
    sc[t] = k >= 0 ? P.scale[k] : 0.0f;
  }
  __syncthreads();
  // Thread (row m, tokens t = h, h + 2, ...): the delta s_k T[t] . B_k[o] added into the shared tile first, then
  // the tile stored to Y: with no global store between them the loads of B of several tokens can be in flight at
  // once (the unrolled loop), instead of one L2 round trip a token. A warp's 32 consecutive rows make its loads
  // of B and its stores of Y contiguous.
  const int m = static_cast<int>(threadIdx.x) % kRows, o = o0 + m;
  if (o >= P.d_out) return;
  const int h = static_cast<int>(threadIdx.x) / kRows;
  constexpr int kStride = kThreads / kRows;
  const bool vec = r % 8 == 0;  // B rows 16-byte aligned
#pragma unroll 4
  for (int t = h; t < l.tokens; t += kStride) {
    const int k = ta[t];
    if (k < 0) continue;
    const __half* br = P.B + (static_cast<long long>(k) * P.d_out + o) * r;
    const float* tr = ts + t * r;
    float d = 0.0f;
    if (vec) {
      for (int c = 0; c < r; c += 8) {
        const uint4 w = __ldg(reinterpret_cast<const uint4*>(br + c));
        const auto* hw = reinterpret_cast<const __half2*>(&w);
#pragma unroll
        for (int q = 0; q < 4; ++q) {
          const float2 f = __half22float2(hw[q]);
          d = fmaf(f.x, tr[c + 2 * q], d);
          d = fmaf(f.y, tr[c + 2 * q + 1], d);
        }
      }
    } else {
      for (int c = 0; c < r; ++c) d = fmaf(__half2float(__ldg(br + c)), tr[c], d);
    }
    cs[t * kCld + m] = fmaf(sc[t], d, cs[t * kCld + m]);
  }
  for (int t = h; t < l.tokens; t += kStride)
    P.Y[static_cast<long long>(t) * P.d_out + o] = __float2half_rn(cs[t * kCld + m]);
}

template <int NT>
void launch_nt(const FusedLoraLaunch& l, cudaStream_t stream) {
  constexpr int bytes = smem_bytes(8 * NT);
  static_assert(2 * (bytes + 1024) <= 227 * 1024, "two blocks an SM");
  static const cudaError_t attr =
      cudaFuncSetAttribute(fused_lora_gemm<NT>, cudaFuncAttributeMaxDynamicSharedMemorySize, bytes);
  if (attr != cudaSuccess) throw std::runtime_error(std::string("fused_lora: ") + cudaGetErrorString(attr));
  const dim3 grid(static_cast<unsigned>((l.max_d_out + kRows - 1) / kRows), static_cast<unsigned>(l.n_projections));
  // Programmatic stream serialization: the kernel may start once every block of the shrink before it has
  // signalled (launch_dependents, at its start) and waits for the shrink's completion in its epilogue.
  const cudaError_t e = launch_programmatic_dependent(fused_lora_gemm<NT>, grid, kThreads, bytes, stream, l);
  if (e != cudaSuccess) throw std::runtime_error(std::string("fused_lora: launch: ") + cudaGetErrorString(e));
}

}  // namespace

void launch_fused_lora(const FusedLoraLaunch& l, cudaStream_t stream) {
  if (l.n_projections == 0 || l.tokens == 0) return;
  if (l.tokens > kFusedLoraMaxTokens || l.rank > 64 || l.rank < 1)
    throw std::invalid_argument("fused_lora: tokens <= 64 and rank 1..64 (got " + std::to_string(l.tokens) + ", " +
                                std::to_string(l.rank) + ")");
  switch ((l.tokens + 7) / 8) {
    case 1: return launch_nt<1>(l, stream);
    case 2: return launch_nt<2>(l, stream);
    case 3: return launch_nt<3>(l, stream);
    case 4: return launch_nt<4>(l, stream);
    case 5: return launch_nt<5>(l, stream);
    case 6: return launch_nt<6>(l, stream);
    case 7: return launch_nt<7>(l, stream);
    default: return launch_nt<8>(l, stream);
  }
}

}  // namespace lrb::kernels
