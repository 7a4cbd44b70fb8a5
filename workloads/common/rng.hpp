#pragma once
// Deterministic random numbers for workload generators. std:: distributions are implementation-defined,
// so we use xoshiro256** seeded through splitmix64 and the Marsaglia polar method (only log and sqrt).
// Streams are derived from (seed, labels...) so each tensor is a pure function of its coordinates:
// the same config gives bit-identical inputs regardless of which other tensors were generated.
#include <cmath>
#include <cstdint>
#include <initializer_list>

namespace lrb {

inline std::uint64_t splitmix64(std::uint64_t& state) {
  std::uint64_t z = (state += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

// Mixes a seed with stream labels (tensor kind, layer, projection, adapter index, ...).
inline std::uint64_t stream_seed(std::uint64_t seed, std::initializer_list<std::uint64_t> labels) {
  std::uint64_t state = seed;
  std::uint64_t h = splitmix64(state);
  for (std::uint64_t label : labels) {
    state = h ^ (label + 0x632be59bd9b4e019ull);
    h = splitmix64(state);
  }
  return h;
}

class Rng {
 public:
  explicit Rng(std::uint64_t seed) {
    std::uint64_t sm = seed;
    for (auto& w : s_) w = splitmix64(sm);
  }
  std::uint64_t next() {
    const std::uint64_t result = rotl(s_[1] * 5, 7) * 9;
    const std::uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = rotl(s_[3], 45);
    return result;
  }
  // Uniform in [0, 1) with 53 random bits.
  double uniform() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }
  // Uniform integer in [0, n).
  std::uint64_t below(std::uint64_t n) { return static_cast<std::uint64_t>(uniform() * static_cast<double>(n)) % n; }
  double normal() {
    if (has_spare_) {
      has_spare_ = false;
      return spare_;
    }
    double u, v, s;
    do {
      u = 2.0 * uniform() - 1.0;
      v = 2.0 * uniform() - 1.0;
      s = u * u + v * v;
    } while (s >= 1.0 || s == 0.0);
    const double f = std::sqrt(-2.0 * std::log(s) / s);
    spare_ = v * f;
    has_spare_ = true;
    return u * f;
  }

 private:
  static std::uint64_t rotl(std::uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  std::uint64_t s_[4];
  double spare_ = 0;
  bool has_spare_ = false;
};

// Stream labels (kept stable: changing one changes every generated workload).
enum StreamLabel : std::uint64_t {
  kStreamBaseWeight = 1,
  kStreamActivations = 2,
  kStreamAdapterA = 3,
  kStreamAdapterB = 4,
  kStreamTokens = 5,
  kStreamShared = 6,
  kStreamKeys = 7,
  kStreamValues = 8,
  kStreamCalibration = 9,
  kStreamQueries = 10,
  kStreamSpectral = 11,
  kStreamSpectrum = 12,
  kStreamNoAdapter = 13,
};

}  // namespace lrb
