#include "harness/stats.hpp"

#include <algorithm>
#include <cmath>

namespace lrb {

namespace {
double quantile_sorted(const std::vector<double>& s, double q) {
  if (s.empty()) return 0;
  const double pos = q * static_cast<double>(s.size() - 1);
  const std::size_t lo = static_cast<std::size_t>(std::floor(pos));
  const std::size_t hi = std::min(lo + 1, s.size() - 1);
  const double frac = pos - static_cast<double>(lo);
  return s[lo] + (s[hi] - s[lo]) * frac;
}
}  // namespace

SampleStats summarize(std::vector<double> samples) {
  SampleStats st;
  st.n = samples.size();
  if (samples.empty()) return st;
  std::sort(samples.begin(), samples.end());
  st.min = samples.front();
  st.max = samples.back();
  st.median = quantile_sorted(samples, 0.5);
  st.q1 = quantile_sorted(samples, 0.25);
  st.q3 = quantile_sorted(samples, 0.75);
  double sum = 0;
  for (double v : samples) sum += v;
  st.mean = sum / static_cast<double>(samples.size());
  if (samples.size() > 1 && st.mean != 0) {
    double ss = 0;
    for (double v : samples) ss += (v - st.mean) * (v - st.mean);
    st.stdrel = std::sqrt(ss / static_cast<double>(samples.size() - 1)) / std::abs(st.mean);
  }
  return st;
}

}  // namespace lrb
