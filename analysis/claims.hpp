#pragma once
// Claimed vs measured: each claim of a config's blocks (harness/config.cpp validates them) against the
// records the run produced, one row per matching record, with a verdict.
//
// A claim names a metric (a dotted path into a record: "time.median", "compression.ratio",
// "hbm.write_excess_fraction", "metrics.encoding.test1.cosine_min", ...), the method (id or label) and
// optionally its params and point values that select the records. With a `baseline` object
// {method, params, block}, the measured value is baseline's metric / the record's metric (a speedup when
// the metric is a time), taken from the baseline record with the same point values.
// Verdict with tolerance t = max(abs_tol, rel_tol * |value|):
//   at_most: measured <= value + t; at_least: measured >= value - t; about (default): |measured - value| <= t,
// rel_tol defaulting to 0.1 for about and 0 otherwise.
#include <string>
#include <vector>

#include "harness/config.hpp"
#include "harness/json.hpp"

namespace lrb {

struct ClaimRow {
  std::string block;
  Json claim;
  std::string method_label;  // the record measured ("" when none matched)
  std::string point_id;
  Json measured;             // number, or null
  std::string verdict;       // "holds", "does not hold", "no data"
  std::string detail;        // how the value was formed, or why there is no data
};

std::vector<ClaimRow> evaluate_claims(const Config& config, const std::vector<Json>& records);
// A markdown section: "## Claims: claimed vs measured" and one table row per ClaimRow.
std::string claims_markdown(const std::vector<ClaimRow>& rows);

}  // namespace lrb
