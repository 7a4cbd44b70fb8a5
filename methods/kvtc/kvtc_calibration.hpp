#pragma once
// KVTC's calibration (untimed, in prepare): per stream of the cache a mean, a PCA basis and a plan.
//   paper mode: one stream per tensor, the token's vector over every layer and KV head (p = L x H x D): the
//     paper's cross-layer PCA;
//   per_head mode: one stream per (layer, KV head) on vectors of head_dim (what the seed repository does).
// Keys are calibrated and coded with RoPE removed at their positions (the workload's exact RoPE), so the
// basis sees the position-free structure. The calibration tokens are split: the first 3/4 fit the mean and
// basis, the last 1/4 (held out) measure the plan's errors.
#include <cstdint>
#include <string>
#include <vector>

#include <Eigen/Dense>

#include "methods/kvtc/kvtc_plan.hpp"
#include "workloads/kv_compression/problem.hpp"

namespace lrb::kvtc {

enum class Mode : std::uint8_t { paper = 0, per_head = 1 };
Mode parse_mode(const std::string& name);

struct Stream {
  int layer = -1, head = -1;  // per_head: the (layer, head) it covers; paper: -1 (all of them)
  Eigen::VectorXf mean;       // [p]
  Eigen::MatrixXf basis;      // [p x r], orthonormal columns in descending variance
  Eigen::VectorXd variance;   // [r]
  Plan plan;                  // over the r components
  int p() const { return static_cast<int>(mean.size()); }
  int r() const { return static_cast<int>(basis.cols()); }
};

struct CalibrationSettings {
  Mode mode = Mode::paper;
  double ratio = 16;                 // CR: the plan's budget is 16 p / CR bits per token
  std::string allocation = "dp";     // dp | greedy_seed
};

// The streams of one tensor (keys: with_rope true, their RoPE removed first): fit_streams then plan_streams.
std::vector<Stream> calibrate(const KvTensor& calib, bool with_rope, const RopeSpec& rope,
                              const CalibrationSettings& s);

// The two halves of calibrate. fit_streams: mean and PCA basis of each stream from the first 3/4 of the
// calibration tokens, and the last 1/4's coefficients (held out), without plans: what every ratio and
// allocation shares (kvtc_method.cpp caches it). plan_streams: the streams with their plans for one setting.
struct Fitted {
  std::vector<Stream> streams;        // plans empty
  std::vector<Eigen::MatrixXf> held;  // per stream: held-out coefficients [tokens x r]
};
Fitted fit_streams(const KvTensor& calib, bool with_rope, const RopeSpec& rope, Mode mode);
std::vector<Stream> plan_streams(const Fitted& f, const CalibrationSettings& s);

// Token t's vector of a stream, RoPE removed for keys (position t): [p] floats.
void gather(const KvTensor& t, int token, const Stream& s, bool with_rope, const RopeSpec& rope, float* out);
// The inverse: writes a reconstructed vector back into `t` at `token`, RoPE re-applied, rounded to fp16.
void scatter(const float* v, int token, const Stream& s, bool with_rope, const RopeSpec& rope, KvTensor& t);

// Bytes of the calibration artifact as stored (fp16 mean and basis, the plan's groups).
std::uint64_t artifact_bytes(const std::vector<Stream>& streams);
// A hash of the streams' plans and shapes, written into each blob so a blob is decoded only with its artifact.
std::uint64_t artifact_hash(const std::vector<Stream>& streams);

}  // namespace lrb::kvtc
