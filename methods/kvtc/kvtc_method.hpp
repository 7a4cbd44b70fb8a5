#pragma once
// What kvtc's CPU and CUDA classes share: the parameters, the calibration in prepare (on the CPU, untimed:
// the artifact is the same for both paths), the raw token ranges, and the records' metrics.
#include <utility>
#include <vector>

#include "harness/json.hpp"
#include "harness/params.hpp"
#include "methods/kvtc/kvtc_codec.hpp"

namespace lrb::kvtc {

struct Settings {
  CalibrationSettings calibration;
  CodecSettings codec;
  bool cuda_fused = true;  // the CUDA path's fused per_head kernels where the shape allows (else v1's stages)
  explicit Settings(const Params& p);
};

struct Calibrated {
  Artifact art;
  std::uint64_t artifact_bytes = 0;
  double calibration_s = 0;  // fit_s + plan_s
  double fit_s = 0, plan_s = 0, wall_s = 0;
  bool fit_cached = false;   // the PCA fit came from an earlier calibration on the same data in this process
};
Calibrated calibrate_artifact(const KvProblem& problem, const Settings& s);

// Components a stream's codes use: up to the end of its last kept group (the rest are dropped).
int used_components(const Stream& s);
// FLOPs of one direction's projections: 2 x coded tokens x p x (components used) over both tensors' streams.
double transform_flops(const Calibrated& c, int coded_tokens);

// The raw (uncoded) token ranges [begin, end) of a cache of `tokens`.
std::vector<std::pair<int, int>> raw_ranges(int tokens, const CodecSettings& s);

// The record's metrics: calibration time, per tensor the plans' bits, components kept, held-out error.
Json metrics_json(const Calibrated& c, const EncodeStats& e, Entropy entropy);

}  // namespace lrb::kvtc
