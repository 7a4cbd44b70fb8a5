#pragma once
#include "harness/method.hpp"
#include "workloads/lowrank_linear/problem.hpp"

namespace lrb::dense_layer {

// The uncompressed layer's compulsory work: W, X and Y once; 2 T d_in d_out FLOPs.
inline Floor floor(const LowrankProblem& p) {
  Floor f;
  f.bytes = fp16_bytes(p.d_out, p.d_in) + fp16_bytes(p.tokens, p.d_in + p.d_out);
  f.flops = 2.0 * p.tokens * p.d_in * p.d_out;
  f.note = "fp16: W + X + Y, each once";
  return f;
}

}  // namespace lrb::dense_layer
