#pragma once
#include "harness/method.hpp"
#include "workloads/lowrank_ffn/problem.hpp"

namespace lrb::dense_ffn {

// The uncompressed FFN's compulsory work: the three weights, X and Y once; 6 T d_model d_ff FLOPs.
inline Floor floor(const LowrankFfnProblem& p) {
  Floor f;
  f.bytes = 3 * fp16_bytes(p.d_model, p.d_ff) + fp16_bytes(p.tokens, 2 * p.d_model);
  f.write_bytes = fp16_bytes(p.tokens, p.d_model);
  f.flops = 6.0 * p.tokens * p.d_model * p.d_ff;
  f.note = "fp16: W_gate, W_up, W_down + X + Y, each once ([T, d_ff] on chip)";
  return f;
}

}  // namespace lrb::dense_ffn
