#pragma once
// The passes the runner makes over one prepared (point, method) pair (DESIGN.md section 5), each a
// function that returns its part of the record, so one measurement never disturbs another:
// correctness (harness/check.hpp), timing, counters, memory, and the post-run facts (floor, bandwidth,
// compression, metrics) that exist only once the method has run.
#include <functional>
#include <memory>
#include <string>

#include "harness/ceilings.hpp"
#include "harness/check.hpp"
#include "harness/measurement.hpp"

namespace lrb {

// Everything a pass may look at.
struct PassContext {
  const TaskFamily& family;
  const MethodInfo& info;
  const Problem& problem;
  Method& method;
  ExecContext& ctx;
  Measurement& measurement;
  const MeasureOptions& measure;
  PreparedCopyFactory make_copy;
  // A new, unprepared instance of the method (the family's model-level probe prepares it on its own problem).
  std::function<std::unique_ptr<Method>()> make_fresh;
};

// {fidelity}, with the family's model-level fidelity where it has one for a passing method; the failure,
// when there is one, in `failure`.
CheckResult correctness_pass(const PassContext& pc);
// {time, phases}; the median in seconds in `median_s`.
Json timing_pass(const PassContext& pc, double* median_s);
// {hbm}: one execution inside the range `range` (NVTX on the GPU, so Nsight Compute isolates it).
Json counter_pass(const PassContext& pc, const std::string& range);
// {memory}
Json memory_pass(const PassContext& pc);
// Calls the method's post-run hook, then {floor, bandwidth, ceilings, compression, metrics}; adds the
// write excess to `hbm` where the floor states its output bytes.
Json post_run_pass(const PassContext& pc, const Ceilings& ceilings, double median_s, double prepare_s, Json& hbm);

// What a record says about HBM before (or without) its counter pass.
Json hbm_not_measured(Backend backend);

}  // namespace lrb
