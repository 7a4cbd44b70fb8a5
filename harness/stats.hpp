#pragma once
#include <cstddef>
#include <vector>

namespace lrb {

struct SampleStats {
  std::size_t n = 0;
  double median = 0, q1 = 0, q3 = 0, min = 0, max = 0, mean = 0;
  double stdrel = 0;  // sample standard deviation / mean (nvbench's "noise")
};

// Quartiles by linear interpolation between order statistics (numpy's default).
SampleStats summarize(std::vector<double> samples);

}  // namespace lrb
