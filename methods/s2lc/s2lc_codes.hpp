#pragma once
// S2LC's per-adapter codes: two-stage scalar k-means (16 centroids, then 8 centroids on the residuals)
// with fp16 codebooks, and the bit layouts the indices are stored in.
//
// Decoded value of an element: float(c1[i1]) + float(c2[i2]) in fp32, on the CPU and in the CUDA kernel
// alike (both codebooks are fp16, so the sum is exact in fp32 and the two paths decode identical values).
//
// Layouts of n = d_out * R indices (row-major over U_k):
//   u8x2:   i1[n] then i2[n], one byte each (the seed's "current uint8"): 2n bytes.
//   packed: a nibble plane (element e in byte e/2, low nibble for even e) then a 3-bit plane (elements
//           8g..8g+7 in the 24-bit little-endian word of bytes 3g..3g+2, element 8g+j at bits 3j..3j+2):
//           n/2 + 3n/8 = 7n/8 bytes, the 4 + 3 bits the two codebooks need. n must be a multiple of 8.
#include <array>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "harness/tensor.hpp"

namespace lrb::s2lc {

constexpr int kStage1 = 16, kStage2 = 8;

struct Codebook {
  std::array<Half, kStage1> c1{};
  std::array<Half, kStage2> c2{};
};

struct QuantizedMatrix {
  std::vector<std::uint8_t> i1, i2;  // one index of each stage per element
  Codebook codebook;
};

inline float decode_value(const Codebook& cb, std::uint8_t i1, std::uint8_t i2) {
  return static_cast<float>(cb.c1[i1]) + static_cast<float>(cb.c2[i2]);
}

// Scalar k-means of `values` into k centroids (Lloyd's algorithm on the sorted values, quantile start,
// exact 1-D assignment by midpoints), returned ascending. Deterministic.
std::vector<double> kmeans_1d(std::vector<double> values, int k, int max_iterations = 100);

// The two-stage code of n values: stage 1 on the values, stage 2 on what stage 1's fp16 centroids leave.
QuantizedMatrix quantize_two_stage(const double* values, std::size_t n);

inline std::size_t u8x2_bytes(std::size_t n) { return 2 * n; }
inline std::size_t packed_bytes(std::size_t n) { return n / 2 + 3 * n / 8; }
inline bool packable(std::size_t n) { return n % 8 == 0; }

std::vector<std::uint8_t> pack_indices(const std::vector<std::uint8_t>& i1, const std::vector<std::uint8_t>& i2);
void unpack_indices(const std::uint8_t* packed, std::size_t n, std::uint8_t* i1, std::uint8_t* i2);

}  // namespace lrb::s2lc
