#pragma once
// `lrbench compare A.jsonl B.jsonl`: per (point, method) present in both runs, the change in median time and
// in the main fidelity metric (relative error against the reference), with a two-sided Mann-Whitney U test
// on the timing samples where both records kept them (measure.keep_samples; Google Benchmark's compare.py
// runs the same test), and a verdict: faster / slower only when the change is beyond the threshold AND
// significant; otherwise same within noise.
#include <string>
#include <vector>

#include "harness/json.hpp"

namespace lrb {

// Two-sided p-value of the Mann-Whitney U test of samples a and b: the normal approximation with the tie
// correction and a continuity correction (scipy.stats.mannwhitneyu's "asymptotic" method). 1 where either
// side is empty or every value ties.
double mann_whitney_p(const std::vector<double>& a, const std::vector<double>& b);

struct CompareOptions {
  double threshold = 0.05;  // relative change in median time that counts (0.05: 5%)
  double alpha = 0.05;      // significance level of the U test
  int min_samples = 5;      // fewer samples a side: no U test, the quartiles decide instead
};

struct CompareRow {
  std::string key, block, method, point;
  double time_a = 0, time_b = 0, change = 0;  // ms, ms, b / a - 1
  double p = -1;                              // U test p-value; -1 where it could not run
  std::string test;                           // "mann-whitney U (n_a, n_b)" or why the quartiles decided
  double error_a = -1, error_b = -1;          // fidelity.rel_error (-1: none)
  std::string verdict;                        // faster | slower | same within noise
};

struct CompareResult {
  std::vector<CompareRow> rows;      // in A's record order
  std::vector<std::string> only_a, only_b, not_ok;  // keys in one run only; pairs not ok in either
  int slower = 0, faster = 0, same = 0;
};

CompareResult compare_runs(const std::vector<Json>& a, const std::vector<Json>& b, const CompareOptions& options);
// The result as a markdown table with a summary line.
std::string compare_markdown(const CompareResult& r, const CompareOptions& options);

}  // namespace lrb
