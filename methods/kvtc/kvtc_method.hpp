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
  explicit Settings(const Params& p);
};

struct Calibrated {
  Artifact art;
  std::uint64_t artifact_bytes = 0;
  double calibration_s = 0;
};
Calibrated calibrate_artifact(const KvProblem& problem, const Settings& s);

// The raw (uncoded) token ranges [begin, end) of a cache of `tokens`.
std::vector<std::pair<int, int>> raw_ranges(int tokens, const CodecSettings& s);

// The record's metrics: calibration time, per tensor the plans' bits, components kept, held-out error.
Json metrics_json(const Calibrated& c, const EncodeStats& e, Entropy entropy);

}  // namespace lrb::kvtc
