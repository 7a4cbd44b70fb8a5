#include <cmath>

#include "workloads/kv_compression/problem.hpp"

namespace lrb {

void apply_rope(double* head, int head_dim, int pos, const RopeSpec& rope, bool inverse) {
  const int rot = rope.rotary_dims > 0 ? rope.rotary_dims : head_dim;
  const int half = rot / 2;
  for (int i = 0; i < half; ++i) {
    const double freq = std::pow(rope.theta, -2.0 * i / rot);
    const double angle = (inverse ? -1.0 : 1.0) * pos * freq;
    const double c = std::cos(angle), s = std::sin(angle);
    const int a = rope.style == "interleaved" ? 2 * i : i;
    const int b = rope.style == "interleaved" ? 2 * i + 1 : i + half;
    const double x = head[a], y = head[b];
    head[a] = x * c - y * s;
    head[b] = x * s + y * c;
  }
}

}  // namespace lrb
