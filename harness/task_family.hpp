#pragma once
// A task family: one mathematical problem, its FP64 reference, fidelity metrics and analytic floor.
// The correctness pass itself is the harness's (harness/check.hpp); a family supplies the shapes of the
// outputs it expects, the comparison of downloaded outputs with its reference, and its metrics.
#include <functional>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "harness/json.hpp"
#include "harness/memory_limits.hpp"
#include "harness/method.hpp"
#include "harness/output_view.hpp"
#include "harness/params.hpp"

namespace lrb {

struct MethodInfo;

// Runs a fresh instance of the method under measurement (same parameters, same backend) once on a problem
// of the family's making and returns its outputs on the host: how a family puts any method into a loop of
// its own (the real model's forward pass) with no per-method code.
using MethodProbe = std::function<std::vector<HostOutput>(const Problem&)>;

struct CheckOptions {
  // Above this many FP64 reference FLOPs the family checks a seeded sample (and says so).
  double max_reference_flops = 4e9;
};

struct CheckResult {
  Json fidelity = Json::object();
  std::optional<std::string> failure;  // NaN, unwritten or out-of-bounds elements, error above tolerance
  std::vector<HostOutput> outputs;     // the method's outputs on the host, as they were compared
};

// An output the family expects, by name and shape.
struct OutputShape {
  std::string name;
  std::size_t rows = 0, cols = 0;
};

// A family's verdict inputs: its fidelity metrics, the relative error judged against the method's
// tolerance, and any failure of its own (raw tokens that did not come back bit-exact).
struct Comparison {
  Json fidelity = Json::object();
  double error = 0;
  std::optional<std::string> failure;
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
  // Bytes the point's problem, references and a method's copies of it hold at their peak, estimated before
  // anything is allocated (harness/memory_limits.hpp turns it into a skipped record when it cannot fit).
  virtual MemoryEstimate estimate_memory(const Point& point) const = 0;
  // Builds the problem deterministically from the point (generator or loader, seed).
  virtual std::shared_ptr<const Problem> make_problem(const Point& point) const = 0;
  // {generator, seed, source} for the record.
  virtual Json workload_info(const Problem& problem) const = 0;

  // ---- Correctness (the pass is harness/check.hpp) --------------------------------------------------
  // The outputs every method of the family must expose, in order.
  virtual std::vector<OutputShape> output_shapes(const Problem& problem) const = 0;
  // Compares the downloaded outputs (already checked for shape, guard bands and non-finite elements)
  // with the FP64 reference.
  virtual Comparison compare(const Problem& problem, const MethodInfo& method, const Method& impl,
                             const std::vector<HostOutput>& outputs, const CheckOptions& options) const = 0;
  // Model-level fidelity that needs the method on inputs the family chooses (called once a correctness check
  // passed; stored as fidelity.model). nullopt: none for this problem, or compare() formed it from the
  // outputs alone (kv_compression, lowrank_linear).
  virtual std::optional<Json> model_fidelity(const Problem& problem, const MethodInfo& method,
                                             const MethodProbe& probe) const {
    (void)problem;
    (void)method;
    (void)probe;
    return std::nullopt;
  }
  // Tolerance of a method that declares none: lossless methods 1e-2 unless the family says otherwise.
  virtual double default_tolerance() const { return 1e-2; }
  // The catalogue of odd shapes the conformance suite runs every method on (workload values).
  virtual std::vector<Json> conformance_shapes() const = 0;

  // Compulsory bytes and FLOPs of the problem for this method (called after the method ran; methods
  // may override with their own representation through Method::floor).
  virtual Floor floor(const Problem& problem, const Method& method) const = 0;
  // Compression ratios and sizes where the family has them (null otherwise).
  virtual Json compression(const Problem& problem, const MethodInfo& info, const Method& method) const {
    (void)problem;
    (void)info;
    (void)method;
    return nullptr;
  }
  // Whether `method` derives from this family's method base.
  virtual bool accepts(const Method& method) const = 0;
};

}  // namespace lrb
