#include "methods/kvtc/kvtc_method.hpp"

#include <bit>
#include <chrono>
#include <cstring>
#include <list>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <tuple>
#include <utility>

namespace lrb::kvtc {

Settings::Settings(const Params& p) {
  calibration.mode = parse_mode(p.string("mode"));
  calibration.ratio = p.number("ratio");
  calibration.allocation = p.string("allocation");
  codec.sinks = static_cast<int>(p.integer("sinks"));
  codec.window = static_cast<int>(p.integer("window"));
  codec.entropy = parse_entropy(p.string("entropy"));
  cuda_fused = p.string("cuda_kernel") == "fused";
}

namespace {

// The PCA of a calibration set is the costly half of calibration (paper mode: the Gram matrix of 384 x 131072
// and its re-orthonormalization) and the same for every ratio, allocation, entropy stage and prepared copy of
// a sweep, so it is computed once per (calibration data, mode, tensor) and kept for the process: the four
// most recent fits. The record says whether its fit came from here, and gives the fit's own time either way
// (and a whole artifact, plan included, is kept for the settings that share it: ArtifactEntry).
std::uint64_t content_hash(const KvTensor& t, bool with_rope, const RopeSpec& rope, Mode mode) {
  std::uint64_t h = 0x9E3779B97F4A7C15ull;
  auto mix = [&](std::uint64_t v) {
    h ^= v + 0x9E3779B97F4A7C15ull + (h << 6) + (h >> 2);
    h *= 0xff51afd7ed558ccdull;
  };
  for (int v : {t.layers, t.tokens, t.heads, t.head_dim, rope.rotary_dims, static_cast<int>(mode), int(with_rope)})
    mix(static_cast<std::uint64_t>(v));
  mix(std::bit_cast<std::uint64_t>(rope.theta));
  for (char c : rope.style) mix(static_cast<unsigned char>(c));
  const std::size_t bytes = t.data.size() * sizeof(Half), words = bytes / 8;
  const auto* p = reinterpret_cast<const unsigned char*>(t.data.data());
  for (std::size_t i = 0; i < words; ++i) {
    std::uint64_t w;
    std::memcpy(&w, p + 8 * i, 8);
    mix(w);
  }
  for (std::size_t i = 8 * words; i < bytes; ++i) mix(p[i]);
  return h;
}

// The `Keep` most recent values by key, most recent first; shared by the threads of a process.
template <class Key, class Value, std::size_t Keep>
class RecentCache {
 public:
  std::optional<Value> find(const Key& key) {
    const std::lock_guard<std::mutex> lock(mutex_);
    for (auto it = entries_.begin(); it != entries_.end(); ++it)
      if (it->first == key) {
        entries_.splice(entries_.begin(), entries_, it);
        return it->second;
      }
    return std::nullopt;
  }
  void add(Key key, Value value) {
    const std::lock_guard<std::mutex> lock(mutex_);
    entries_.emplace_front(std::move(key), std::move(value));
    if (entries_.size() > Keep) entries_.pop_back();
  }

 private:
  std::mutex mutex_;
  std::list<std::pair<Key, Value>> entries_;
};

// A tensor's fit and the seconds it took, by content hash: the four most recent.
using FitCache = RecentCache<std::uint64_t, std::pair<std::shared_ptr<const Fitted>, double>, 4>;
// Whole artifacts (fit + plan) by (keys' fit, values' fit, ratio, allocation): what an entropy sweep and the
// prepared copies of one method share. The eight most recent.
using ArtifactKey = std::tuple<std::uint64_t, std::uint64_t, double, std::string>;
using ArtifactCache = RecentCache<ArtifactKey, std::shared_ptr<const Calibrated>, 8>;

// The fit of one tensor, from the cache or computed (and then cached). `cached`: whether it came from it.
std::shared_ptr<const Fitted> fit_of(const KvTensor& calib, std::uint64_t key, bool with_rope, const RopeSpec& rope,
                                     Mode mode, double& seconds, bool& cached) {
  static FitCache fits;
  if (const auto hit = fits.find(key)) {
    seconds = hit->second, cached = true;
    return hit->first;
  }
  const auto t0 = std::chrono::steady_clock::now();
  auto fit = std::make_shared<const Fitted>(fit_streams(calib, with_rope, rope, mode));
  seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  cached = false;
  fits.add(key, {fit, seconds});
  return fit;
}

ArtifactCache artifacts;

}  // namespace

Calibrated calibrate_artifact(const KvProblem& problem, const Settings& s) {
  const auto t0 = std::chrono::steady_clock::now();
  const std::uint64_t kkey = content_hash(problem.calib_keys, true, problem.rope, s.calibration.mode);
  const std::uint64_t vkey = content_hash(problem.calib_values, false, problem.rope, s.calibration.mode);
  const ArtifactKey akey{kkey, vkey, s.calibration.ratio, s.calibration.allocation};
  if (const auto hit = artifacts.find(akey)) {
    Calibrated c = **hit;
    c.fit_cached = true;
    c.wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    return c;
  }
  Calibrated c;
  c.art.mode = s.calibration.mode;
  double fit_k = 0, fit_v = 0;
  bool cached_k = false, cached_v = false;
  const auto keys = fit_of(problem.calib_keys, kkey, true, problem.rope, s.calibration.mode, fit_k, cached_k);
  const auto values = fit_of(problem.calib_values, vkey, false, problem.rope, s.calibration.mode, fit_v, cached_v);
  const auto t1 = std::chrono::steady_clock::now();
  c.art.keys = plan_streams(*keys, s.calibration);
  c.art.values = plan_streams(*values, s.calibration);
  std::vector<Stream> all = c.art.keys;
  all.insert(all.end(), c.art.values.begin(), c.art.values.end());
  c.art.hash = artifact_hash(all);
  c.artifact_bytes = artifact_bytes(all);
  const auto t2 = std::chrono::steady_clock::now();
  c.fit_s = fit_k + fit_v;
  c.fit_cached = cached_k && cached_v;
  c.plan_s = std::chrono::duration<double>(t2 - t1).count();
  c.calibration_s = c.fit_s + c.plan_s;
  c.wall_s = std::chrono::duration<double>(t2 - t0).count();
  artifacts.add(akey, std::make_shared<const Calibrated>(c));
  return c;
}

int used_components(const Stream& s) {
  int used = 0;
  for (const auto& g : s.plan.groups)
    if (g.type != CodeType::dropped) used = std::max(used, g.begin + g.size);
  return used;
}

double transform_flops(const Calibrated& c, int coded_tokens) {
  double f = 0;
  for (const auto* v : {&c.art.keys, &c.art.values})
    for (const auto& s : *v) f += 2.0 * coded_tokens * s.p() * used_components(s);
  return f;
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
          {"calibration", {{"fit_s", c.fit_s},
                           {"plan_s", c.plan_s},
                           {"fit_cached", c.fit_cached},
                           {"wall_s", c.wall_s},
                           {"note", "calibration_s = the PCA fit's own time (computed once per calibration set and "
                                    "mode in a process, then reused: fit_cached) + this setting's plan; untimed, "
                                    "in prepare"}}},
          {"keys", streams(c.art.keys)},
          {"values", streams(c.art.values)},
          {"payload_bytes", e.payload_bytes},
          {"stored_payload_bytes", e.stored_payload_bytes},
          {"entropy", name_of(entropy)}};
}

}  // namespace lrb::kvtc
