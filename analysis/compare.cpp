#include "analysis/compare.hpp"

#include <algorithm>
#include <cmath>
#include <map>
#include <numeric>

#include <fmt/format.h>

#include "analysis/report.hpp"
#include "harness/records.hpp"

namespace lrb {

double mann_whitney_p(const std::vector<double>& a, const std::vector<double>& b) {
  const std::size_t n1 = a.size(), n2 = b.size(), n = n1 + n2;
  if (n1 == 0 || n2 == 0) return 1.0;
  // Ranks of the pooled samples, ties given their average rank; the tie term sum(t^3 - t).
  std::vector<std::pair<double, int>> pooled;
  pooled.reserve(n);
  for (double v : a) pooled.emplace_back(v, 0);
  for (double v : b) pooled.emplace_back(v, 1);
  std::sort(pooled.begin(), pooled.end(), [](const auto& x, const auto& y) { return x.first < y.first; });
  double rank_sum_a = 0, ties = 0;
  for (std::size_t i = 0; i < n;) {
    std::size_t j = i;
    while (j < n && pooled[j].first == pooled[i].first) ++j;
    const double t = static_cast<double>(j - i), avg = (static_cast<double>(i + 1) + static_cast<double>(j)) / 2.0;
    for (std::size_t k = i; k < j; ++k)
      if (pooled[k].second == 0) rank_sum_a += avg;
    ties += t * t * t - t;
    i = j;
  }
  const double m1 = static_cast<double>(n1), m2 = static_cast<double>(n2), nn = static_cast<double>(n);
  const double u = rank_sum_a - m1 * (m1 + 1) / 2.0;
  const double mean = m1 * m2 / 2.0;
  const double var = m1 * m2 / 12.0 * ((nn + 1) - ties / (nn * (nn - 1)));
  if (var <= 0) return 1.0;
  const double z = (std::fabs(u - mean) - 0.5) / std::sqrt(var);
  if (z <= 0) return 1.0;
  return std::min(1.0, std::erfc(z / std::sqrt(2.0)));
}

namespace {

std::vector<double> samples_of(const Json& r) {
  std::vector<double> s;
  if (!r.contains("time") || !r["time"].is_object()) return s;
  const auto it = r["time"].find("samples");
  if (it == r["time"].end() || !it->is_array()) return s;
  for (const auto& v : *it)
    if (v.is_number()) s.push_back(v.get<double>());
  return s;
}

}  // namespace

CompareResult compare_runs(const std::vector<Json>& a, const std::vector<Json>& b, const CompareOptions& o) {
  CompareResult r;
  std::map<std::string, const Json*> in_b;
  for (const auto& rec : b) in_b.emplace(record_key(rec), &rec);
  std::map<std::string, bool> seen_a;
  for (const auto& ra : a) {
    const std::string key = record_key(ra);
    if (!seen_a.emplace(key, true).second) continue;  // a duplicate within A: its first record counts
    const auto it = in_b.find(key);
    if (it == in_b.end()) {
      r.only_a.push_back(key);
      continue;
    }
    const Json& rb = *it->second;
    const double ta = record_number_at(ra, {"time", "median"}, -1), tb = record_number_at(rb, {"time", "median"}, -1);
    if (record_string(ra, "status") != "ok" || record_string(rb, "status") != "ok" || ta <= 0 || tb <= 0) {
      r.not_ok.push_back(fmt::format("{} ({} / {})", key, record_string(ra, "status", "?"),
                                     record_string(rb, "status", "?")));
      continue;
    }
    CompareRow row;
    row.key = key;
    row.block = record_string(ra, "block");
    row.method = record_string(ra, "method_label");
    row.point = record_string(ra, "point_id");
    row.time_a = ta, row.time_b = tb, row.change = tb / ta - 1.0;
    row.error_a = record_number_at(ra, {"fidelity", "rel_error"}, -1);
    row.error_b = record_number_at(rb, {"fidelity", "rel_error"}, -1);
    const auto sa = samples_of(ra), sb = samples_of(rb);
    bool significant = false;
    if (static_cast<int>(sa.size()) >= o.min_samples && static_cast<int>(sb.size()) >= o.min_samples) {
      row.p = mann_whitney_p(sa, sb);
      row.test = fmt::format("mann-whitney U ({}, {})", sa.size(), sb.size());
      significant = row.p < o.alpha;
    } else {
      // Without samples: significant only where the interquartile ranges do not overlap.
      const double a1 = record_number_at(ra, {"time", "q1"}, -1), a3 = record_number_at(ra, {"time", "q3"}, -1);
      const double b1 = record_number_at(rb, {"time", "q1"}, -1), b3 = record_number_at(rb, {"time", "q3"}, -1);
      significant = a1 >= 0 && b1 >= 0 && (b1 > a3 || a1 > b3);
      row.test = "quartiles (no samples kept: measure.keep_samples)";
    }
    if (significant && row.change > o.threshold) row.verdict = "slower", ++r.slower;
    else if (significant && row.change < -o.threshold) row.verdict = "faster", ++r.faster;
    else row.verdict = "same within noise", ++r.same;
    r.rows.push_back(std::move(row));
  }
  for (const auto& rec : b) {
    const std::string key = record_key(rec);
    if (!seen_a.count(key)) r.only_b.push_back(key);
  }
  return r;
}

std::string compare_markdown(const CompareResult& r, const CompareOptions& o) {
  std::string s = "| block | method | point | A ms | B ms | change | p | test | rel. error A -> B | verdict |\n"
                  "|---|---|---|---|---|---|---|---|---|---|\n";
  auto err = [](double e) { return e < 0 ? std::string("-") : fmt::format("{:.3g}", e); };
  for (const auto& row : r.rows)
    s += fmt::format("| {} | {} | {} | {:.4g} | {:.4g} | {:+.1f}% | {} | {} | {} -> {} | {} |\n", md_escape(row.block),
                     md_escape(row.method), md_escape(row.point), row.time_a, row.time_b, 100 * row.change,
                     row.p < 0 ? std::string("-") : fmt::format("{:.3g}", row.p), row.test, err(row.error_a),
                     err(row.error_b), row.verdict);
  s += fmt::format(
      "\n{} compared: {} slower, {} faster, {} same within noise (threshold {:.0f}%, alpha {}); {} only in A, {} only "
      "in B, {} not ok in one run\n",
      r.rows.size(), r.slower, r.faster, r.same, 100 * o.threshold, o.alpha, r.only_a.size(), r.only_b.size(),
      r.not_ok.size());
  return s;
}

}  // namespace lrb
