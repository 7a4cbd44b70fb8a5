#pragma once
// KVTC's bit allocation (issue 11): which consecutive groups of principal components are stored, and as what.
//
// `dp`: groups of sizes {1, 16, 64, 256, 1024}, each of a type {dropped, int2, int4, int8, fp8}, chosen to
// minimize the reconstruction error measured on held-out calibration coefficients under a budget of B bits
// per token, where a kept group of s components costs s x bits + 32 (its fp16 shift and scale). Two choices
// of ours, written here because the paper does not fix them:
//   - groups start at a multiple of their size (as in a buddy allocator), so a group's measured error is
//     computed once per aligned slot: O(tokens x p) per (size, type) instead of O(tokens x p x size);
//   - the budget is enforced by a Lagrange multiplier: a DP over positions minimizes error + lambda x bits,
//     and lambda is bisected to the smallest value whose plan fits B. The plan fits the budget exactly as
//     stated; it is optimal among plans on the lower convex hull of (bits, error), which the exact knapsack
//     DP over (position, bits) could beat only between hull points (p = 131072 makes that DP too large).
// `greedy_seed`: the seed repository's allocation: per component, bits from {0, 2, 4, 8} raised greedily
// by the priority lambda_i / 4^b_i (lambda_i its variance) while the budget, counted without any shift or
// scale overhead, allows; each component then is a group of one (and does pay 32 bits in the real blob).
#include <cstdint>
#include <vector>

#include <Eigen/Dense>

#include "methods/kvtc/kvtc_quant.hpp"

namespace lrb::kvtc {

struct Group {
  int begin = 0, size = 0;
  CodeType type = CodeType::dropped;
};

struct Plan {
  std::vector<Group> groups;  // consecutive, covering [0, p)
  double bits_per_token = 0;  // sum of group_bits
  double error = 0;           // measured mean squared reconstruction error per held-out token (dp only)
  double lambda = 0;          // the multiplier the plan came from (dp only)
};

inline const std::vector<int>& group_sizes() {
  static const std::vector<int> s = {1, 16, 64, 256, 1024};
  return s;
}

// coefficients: held-out calibration tokens [n x p] in the principal basis (centred), components in
// descending variance. budget_bits: B per token.
Plan plan_dp(const Eigen::MatrixXf& coefficients, double budget_bits);
Plan plan_greedy_seed(const Eigen::VectorXd& variances, double budget_bits);

// Checks a plan against p and the budget (used on plans read back from a blob): groups consecutive from 0
// to p, sizes positive. Throws with the first fault.
void validate_plan(const std::vector<Group>& groups, int p);

}  // namespace lrb::kvtc
