#pragma once
// Helpers of the gpu-labelled tests: skip where no GPU is present, compare outputs.
#include <algorithm>

#include <gtest/gtest.h>

#include "harness/backend.hpp"
#include "harness/tensor.hpp"

#define REQUIRE_GPU()                                                                         \
  do {                                                                                        \
    if (!::lrb::cuda_device_present()) GTEST_SKIP() << "no CUDA device present: GPU test skipped"; \
  } while (0)

namespace lrb::test {
// ||a - b||_F / ||b||_F
inline double rel_diff(const MatrixF& a, const MatrixF& b) { return (a - b).norm() / std::max(b.norm(), 1e-30f); }
}  // namespace lrb::test
