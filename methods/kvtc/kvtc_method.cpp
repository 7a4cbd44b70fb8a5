#include "methods/kvtc/kvtc_method.hpp"

#include <chrono>

namespace lrb::kvtc {

Settings::Settings(const Params& p) {
  calibration.mode = parse_mode(p.string("mode"));
  calibration.ratio = p.number("ratio");
  calibration.allocation = p.string("allocation");
  codec.sinks = static_cast<int>(p.integer("sinks"));
  codec.window = static_cast<int>(p.integer("window"));
  codec.entropy = parse_entropy(p.string("entropy"));
}

Calibrated calibrate_artifact(const KvProblem& problem, const Settings& s) {
  const auto t0 = std::chrono::steady_clock::now();
  Calibrated c;
  c.art.mode = s.calibration.mode;
  c.art.keys = calibrate(problem.calib_keys, true, problem.rope, s.calibration);
  c.art.values = calibrate(problem.calib_values, false, problem.rope, s.calibration);
  std::vector<Stream> all = c.art.keys;
  all.insert(all.end(), c.art.values.begin(), c.art.values.end());
  c.art.hash = artifact_hash(all);
  c.artifact_bytes = artifact_bytes(all);
  c.calibration_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return c;
}

std::vector<std::pair<int, int>> raw_ranges(int tokens, const CodecSettings& s) {
  const auto [b, e] = coded_range(tokens, s);
  std::vector<std::pair<int, int>> raw;
  if (b > 0) raw.emplace_back(0, b);
  if (e < tokens) raw.emplace_back(e, tokens);
  return raw;
}

Json metrics_json(const Calibrated& c, const EncodeStats& e, Entropy entropy) {
  auto streams = [](const std::vector<Stream>& v) {
    double bits = 0, p = 0, r = 0, kept = 0, error = 0;
    for (const auto& s : v) {
      bits += s.plan.bits_per_token, p += s.p(), r += s.r(), error += s.plan.error;
      for (const auto& g : s.plan.groups) kept += g.type == CodeType::dropped ? 0 : g.size;
    }
    return Json{{"streams", v.size()},
                {"plan_bits_per_coordinate", p > 0 ? bits / p : 0.0},
                {"components", r},
                {"components_kept", kept},
                {"coordinates", p},
                {"plan_heldout_error", error}};
  };
  return {{"calibration_s", c.calibration_s},
          {"keys", streams(c.art.keys)},
          {"values", streams(c.art.values)},
          {"payload_bytes", e.payload_bytes},
          {"stored_payload_bytes", e.stored_payload_bytes},
          {"entropy", name_of(entropy)}};
}

}  // namespace lrb::kvtc
