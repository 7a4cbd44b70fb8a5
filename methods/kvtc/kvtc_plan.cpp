#include "methods/kvtc/kvtc_plan.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <queue>
#include <stdexcept>

#include <fmt/format.h>

#include "workloads/common/parallel.hpp"

namespace lrb::kvtc {
namespace {

// err[size index][type][slot]: mean over tokens of the squared error of storing the aligned slot
// [slot x size, min(p, (slot + 1) x size)) as that type (dropped: the slot's energy).
using ErrorTable = std::vector<std::vector<std::vector<double>>>;

ErrorTable measure_errors(const Eigen::MatrixXf& C) {
  const int n = static_cast<int>(C.rows()), p = static_cast<int>(C.cols());
  const auto& sizes = group_sizes();
  ErrorTable err(sizes.size());
  for (std::size_t si = 0; si < sizes.size(); ++si) {
    const int s = sizes[si], slots = (p + s - 1) / s;
    err[si].assign(std::size(kCodeTypes), std::vector<double>(slots, 0.0));
    parallel_for(static_cast<std::size_t>(slots), [&](std::size_t slot) {
      const int b = static_cast<int>(slot) * s, len = std::min(s, p - b);
      std::vector<float> x(len), y(len);
      std::vector<std::uint8_t> codes(len);
      for (std::size_t ti = 0; ti < std::size(kCodeTypes); ++ti) {
        const CodeType t = kCodeTypes[ti];
        double sum = 0;
        for (int r = 0; r < n; ++r) {
          for (int j = 0; j < len; ++j) x[j] = C(r, b + j);
          if (t == CodeType::dropped) {
            for (float v : x) sum += static_cast<double>(v) * v;
            continue;
          }
          const GroupParams g = quantize_group_into(x, t, codes);
          dequantize_group(g.shift, g.scale, codes, t, y);
          for (int j = 0; j < len; ++j) sum += static_cast<double>(x[j] - y[j]) * (x[j] - y[j]);
        }
        err[si][ti][slot] = n > 0 ? sum / n : 0.0;
      }
    });
  }
  return err;
}

// The plan minimizing error + lambda x bits, by a DP from the last component back.
Plan solve(const ErrorTable& err, int p, double lambda) {
  const auto& sizes = group_sizes();
  std::vector<double> best(p + 1, 0.0);
  std::vector<Group> choice(p);
  std::vector<double> choice_error(p, 0.0);
  for (int i = p - 1; i >= 0; --i) {
    best[i] = std::numeric_limits<double>::infinity();
    for (std::size_t si = 0; si < sizes.size(); ++si) {
      const int s = sizes[si];
      if (i % s != 0) continue;
      const int len = std::min(s, p - i);
      for (std::size_t ti = 0; ti < std::size(kCodeTypes); ++ti) {
        const double e = err[si][ti][i / s];
        const double v = e + lambda * group_bits(kCodeTypes[ti], len) + best[i + len];
        if (v < best[i]) best[i] = v, choice[i] = {i, len, kCodeTypes[ti]}, choice_error[i] = e;
      }
    }
  }
  Plan plan;
  plan.lambda = lambda;
  for (int i = 0; i < p; i += choice[i].size) {
    plan.groups.push_back(choice[i]);
    plan.bits_per_token += group_bits(choice[i].type, choice[i].size);
    plan.error += choice_error[i];
  }
  return plan;
}

}  // namespace

Plan plan_dp(const Eigen::MatrixXf& coefficients, double budget_bits) {
  const int p = static_cast<int>(coefficients.cols());
  if (p == 0) return {};
  if (!(budget_bits >= 0)) throw std::invalid_argument("kvtc plan: the budget must be >= 0 bits");
  const ErrorTable err = measure_errors(coefficients);
  // A bit must buy at least 1e-9 of the total energy (per bit): with budget to spare, components that carry
  // nothing are dropped rather than stored for an error reduction below any measurement.
  double energy = 0;
  for (double e : err[0][0]) energy += e;
  const double lambda_min = 1e-9 * std::max(energy, 1e-300);
  Plan loose = solve(err, p, lambda_min);
  if (loose.bits_per_token <= budget_bits) return loose;
  // Bisect lambda (error per bit) on a log scale between a plan that fits and one that does not.
  double lo = lambda_min, hi = std::max(1.0, 16 * lambda_min);
  while (solve(err, p, hi).bits_per_token > budget_bits) hi *= 16;
  Plan fit = solve(err, p, hi);
  for (int it = 0; it < 60 && hi - lo > 1e-12 * hi; ++it) {
    const double mid = std::sqrt(lo * hi);
    Plan m = solve(err, p, mid);
    if (m.bits_per_token <= budget_bits) hi = mid, fit = std::move(m);
    else lo = mid;
  }
  return fit;
}

Plan plan_greedy_seed(const Eigen::VectorXd& variances, double budget_bits) {
  const int p = static_cast<int>(variances.size());
  static const int widths[] = {0, 2, 4, 8};
  std::vector<int> level(p, 0);
  double used = 0;
  // Max-heap on lambda_i / 4^b_i; each pop raises one component to its next width if the budget allows.
  using Entry = std::pair<double, int>;
  std::priority_queue<Entry> heap;
  for (int i = 0; i < p; ++i) heap.push({variances[i], i});
  while (!heap.empty()) {
    const auto [priority, i] = heap.top();
    heap.pop();
    if (level[i] == 3) continue;
    const int extra = widths[level[i] + 1] - widths[level[i]];
    if (used + extra > budget_bits) continue;  // this one cannot grow; smaller steps of others still may
    used += extra;
    ++level[i];
    heap.push({variances[i] / std::pow(4.0, widths[level[i]]), i});
  }
  Plan plan;
  for (int i = 0; i < p; ++i) {
    static const CodeType types[] = {CodeType::dropped, CodeType::int2, CodeType::int4, CodeType::int8};
    plan.groups.push_back({i, 1, types[level[i]]});
    plan.bits_per_token += group_bits(types[level[i]], 1);
  }
  return plan;
}

void validate_plan(const std::vector<Group>& groups, int p) {
  int next = 0;
  for (std::size_t k = 0; k < groups.size(); ++k) {
    const Group& g = groups[k];
    if (g.begin != next || g.size <= 0 || g.size > p - next)
      throw std::runtime_error(fmt::format("kvtc plan: group {} is [{}, {}) after component {} of {}", k, g.begin,
                                           static_cast<long long>(g.begin) + g.size, next, p));
    if (static_cast<int>(g.type) > static_cast<int>(CodeType::fp8))
      throw std::runtime_error(fmt::format("kvtc plan: group {} has unknown type {}", k, static_cast<int>(g.type)));
    next += g.size;
  }
  if (next != p) throw std::runtime_error(fmt::format("kvtc plan: groups cover {} of {} components", next, p));
}

}  // namespace lrb::kvtc
