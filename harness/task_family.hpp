#pragma once
// A task family: one mathematical problem, its FP64 reference, fidelity metrics and analytic floor.
#include <memory>
#include <optional>
#include <string>
#include <utility>

#include "harness/json.hpp"
#include "harness/method.hpp"
#include "harness/params.hpp"

namespace lrb {

struct CheckOptions {
  // Above this many FP64 reference FLOPs the family checks a seeded sample (and says so).
  double max_reference_flops = 4e9;
};

struct CheckResult {
  Json fidelity = Json::object();
  std::optional<std::string> failure;  // NaN, unwritten elements, error above the method's tolerance
};

class TaskFamily {
 public:
  virtual ~TaskFamily() = default;
  virtual std::string id() const = 0;
  virtual std::string description() const = 0;
  // Every parameter a workload or an axis may set (shape, sizes, generator choice, seed, ...).
  virtual ParamSpecs params() const = 0;
  // Combinations that cannot be built (distinct adapters with K < batch, ...): skipped records.
  virtual Support check_point(const Point& point) const {
    (void)point;
    return Support::yes();
  }
  // Points the config must not contain at all (an unknown projection for the model, ...):
  // {parameter name, message}. Reported as a validation error before anything runs.
  virtual std::optional<std::pair<std::string, std::string>> invalid_point(const Point& point) const {
    (void)point;
    return std::nullopt;
  }
  // Builds the problem deterministically from the point (generator or loader, seed).
  virtual std::shared_ptr<const Problem> make_problem(const Point& point) const = 0;
  // {generator, seed, source} for the record.
  virtual Json workload_info(const Problem& problem) const = 0;
  // Correctness pass: poison the method's outputs, run once, compare with the FP64 reference.
  virtual CheckResult check(const Problem& problem, Method& method, ExecContext& ctx,
                            const CheckOptions& options) const = 0;
  // Compulsory bytes and FLOPs of the problem for this method (called after the method ran; methods
  // may override with their own representation through Method::floor).
  virtual Floor floor(const Problem& problem, const Method& method) const = 0;
  // Compression ratios and sizes where the family has them (null otherwise).
  virtual Json compression(const Problem& problem, const Method& method) const {
    (void)problem;
    (void)method;
    return nullptr;
  }
  // Whether `method` derives from this family's method base.
  virtual bool accepts(const Method& method) const = 0;
};

}  // namespace lrb
