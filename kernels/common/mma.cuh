#pragma once
// Tensor-core building blocks shared by kernels of several families: PTX mma.sync m16n8k16 (fp16 in, fp32
// accumulate) and the ldmatrix loads that produce its fragments from shared memory. Fragment layouts as in the
// PTX ISA (lane = 4 * group + tig): A (16 x 16, row) a0 = (group, 2 tig..+1), a1 = (group + 8, ...), a2 and a3
// the same at columns + 8; B (16 x 8, col) b0 = (k 2 tig..+1, n group), b1 = k + 8; C/D (16 x 8) d0, d1 =
// (group, 2 tig..+1), d2, d3 = (group + 8, ...). sm_80 and later.
#include <cuda_fp16.h>

#include <cstdint>

namespace lrb::kernels {

// C[16x8] += A[16x16] B[16x8].
__device__ __forceinline__ void mma_16816(float (&c)[4], std::uint32_t a0, std::uint32_t a1, std::uint32_t a2,
                                          std::uint32_t a3, std::uint32_t b0, std::uint32_t b1) {
  asm volatile(
      "mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};\n"
      : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
      : "r"(a0), "r"(a1), "r"(a2), "r"(a3), "r"(b0), "r"(b1));
}

__device__ __forceinline__ std::uint32_t pack_halves(__half lo, __half hi) {
  return static_cast<std::uint32_t>(__half_as_ushort(lo)) | (static_cast<std::uint32_t>(__half_as_ushort(hi)) << 16);
}

__device__ __forceinline__ std::uint32_t shared_address(const void* p) {
  return static_cast<std::uint32_t>(__cvta_generic_to_shared(p));
}

// The A fragment of a row-major fp16 16 x 16 tile at `a` (leading dimension lda halfs; rows 16-byte aligned).
__device__ __forceinline__ void load_a_16x16(std::uint32_t (&r)[4], const __half* a, int lda, int lane) {
  const __half* p = a + (lane % 16) * lda + (lane / 16) * 8;
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0,%1,%2,%3}, [%4];\n"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
               : "r"(shared_address(p)));
}

// The B fragments of two 16 x 8 tiles of a row-major [k][n] fp16 matrix: columns n0.. and n1.. of rows k0..k0+15
// at `b` (leading dimension ldb halfs; rows 16-byte aligned). r[0], r[1]: tile n0; r[2], r[3]: tile n1.
__device__ __forceinline__ void load_b_16x8_pair(std::uint32_t (&r)[4], const __half* b, int ldb, int n0, int n1,
                                                 int lane) {
  const __half* p = b + (lane % 16) * ldb + (lane < 16 ? n0 : n1);
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0,%1,%2,%3}, [%4];\n"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
               : "r"(shared_address(p)));
}

}  // namespace lrb::kernels
