#include "methods/s2lc/s2lc_codes.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace lrb::s2lc {

namespace {

// Index of the nearest of the ascending `centroids` (ties to the lower one).
struct NearestCentroid {
  explicit NearestCentroid(const std::vector<float>& c) : centroids(c) {
    for (std::size_t i = 0; i + 1 < c.size(); ++i) midpoints.push_back(0.5 * (double(c[i]) + double(c[i + 1])));
  }
  std::uint8_t operator()(double v) const {
    return static_cast<std::uint8_t>(std::lower_bound(midpoints.begin(), midpoints.end(), v) - midpoints.begin());
  }
  std::vector<float> centroids;
  std::vector<double> midpoints;
};

// Centroids rounded to fp16, kept ascending.
template <std::size_t N>
std::vector<float> to_codebook(const std::vector<double>& c, std::array<Half, N>& out) {
  std::vector<float> f(N, 0.0f);
  for (std::size_t i = 0; i < N; ++i) {
    out[i] = to_half(i < c.size() ? c[i] : c.back());
    f[i] = static_cast<float>(out[i]);
  }
  return f;
}

}  // namespace

std::vector<double> kmeans_1d(std::vector<double> values, int k, int max_iterations) {
  if (values.empty()) throw std::invalid_argument("kmeans_1d: no values");
  std::sort(values.begin(), values.end());
  const std::size_t n = values.size();
  std::vector<double> prefix(n + 1, 0.0);
  for (std::size_t i = 0; i < n; ++i) prefix[i + 1] = prefix[i] + values[i];
  std::vector<double> c(k);
  for (int i = 0; i < k; ++i) c[i] = values[std::min(n - 1, static_cast<std::size_t>((i + 0.5) / k * n))];
  for (int it = 0; it < max_iterations; ++it) {
    std::vector<double> next = c;
    std::size_t begin = 0;
    for (int i = 0; i < k; ++i) {
      // Segment of the values nearest to c[i]: up to the midpoint with c[i + 1] (ties to the lower centroid).
      const std::size_t end = i + 1 < k ? static_cast<std::size_t>(std::upper_bound(values.begin(), values.end(),
                                                                                   0.5 * (c[i] + c[i + 1])) -
                                                                  values.begin())
                                        : n;
      if (end > begin) next[i] = (prefix[end] - prefix[begin]) / static_cast<double>(end - begin);
      begin = std::max(begin, end);
    }
    std::sort(next.begin(), next.end());
    if (next == c) break;
    c = next;
  }
  return c;
}

QuantizedMatrix quantize_two_stage(const double* values, std::size_t n) {
  QuantizedMatrix q;
  q.i1.resize(n);
  q.i2.resize(n);
  const std::vector<float> c1 = to_codebook(kmeans_1d(std::vector<double>(values, values + n), kStage1), q.codebook.c1);
  const NearestCentroid near1(c1);
  std::vector<double> residual(n);
  for (std::size_t e = 0; e < n; ++e) {
    q.i1[e] = near1(values[e]);
    residual[e] = values[e] - static_cast<double>(c1[q.i1[e]]);
  }
  const std::vector<float> c2 = to_codebook(kmeans_1d(residual, kStage2), q.codebook.c2);
  // Stage 2 picks the code whose decoded fp32 value (what the kernels compute) is nearest.
  for (std::size_t e = 0; e < n; ++e) {
    const float base = c1[q.i1[e]];
    std::uint8_t best = 0;
    double best_err = INFINITY;
    for (int j = 0; j < kStage2; ++j) {
      const double err = std::abs(static_cast<double>(base + c2[j]) - values[e]);
      if (err < best_err) {
        best_err = err;
        best = static_cast<std::uint8_t>(j);
      }
    }
    q.i2[e] = best;
  }
  return q;
}

std::vector<std::uint8_t> pack_indices(const std::vector<std::uint8_t>& i1, const std::vector<std::uint8_t>& i2) {
  const std::size_t n = i1.size();
  if (i2.size() != n || !packable(n)) throw std::invalid_argument("pack_indices: needs two index arrays of n % 8 == 0");
  std::vector<std::uint8_t> out(packed_bytes(n), 0);
  std::uint8_t* nib = out.data();
  std::uint8_t* bits3 = out.data() + n / 2;
  for (std::size_t e = 0; e < n; ++e) {
    if (i1[e] >= kStage1 || i2[e] >= kStage2) throw std::invalid_argument("pack_indices: index out of range");
    nib[e / 2] |= static_cast<std::uint8_t>(i1[e] << (4 * (e % 2)));
    const std::size_t g = e / 8, j = e % 8;
    const std::uint32_t word = static_cast<std::uint32_t>(i2[e]) << (3 * j);
    for (int b = 0; b < 3; ++b) bits3[3 * g + b] |= static_cast<std::uint8_t>(word >> (8 * b));
  }
  return out;
}

void unpack_indices(const std::uint8_t* packed, std::size_t n, std::uint8_t* i1, std::uint8_t* i2) {
  if (!packable(n)) throw std::invalid_argument("unpack_indices: n must be a multiple of 8");
  const std::uint8_t* nib = packed;
  const std::uint8_t* bits3 = packed + n / 2;
  for (std::size_t e = 0; e < n; ++e) {
    i1[e] = static_cast<std::uint8_t>((nib[e / 2] >> (4 * (e % 2))) & 0xF);
    const std::size_t g = e / 8, j = e % 8;
    const std::uint32_t word = bits3[3 * g] | (bits3[3 * g + 1] << 8) |
                               (static_cast<std::uint32_t>(bits3[3 * g + 2]) << 16);
    i2[e] = static_cast<std::uint8_t>((word >> (3 * j)) & 0x7);
  }
}

}  // namespace lrb::s2lc
