#pragma once
// The correctness pass, owned by the harness for every family (DESIGN.md section 4): poison each output,
// fill its guard bands with a sentinel, run once, synchronize, check the guards, download, count
// non-finite (NaN-poisoned, never written) elements, let the family compare with its FP64 reference, and
// decide the verdict against the method's declared tolerance.
#include "harness/exec_context.hpp"
#include "harness/method.hpp"
#include "harness/registry.hpp"
#include "harness/task_family.hpp"

namespace lrb {

CheckResult check_method(const TaskFamily& family, const MethodInfo& info, const Problem& problem, Method& method,
                         ExecContext& ctx, const CheckOptions& options);

// The method's current outputs copied to the host as fp32 (no run, no poisoning).
std::vector<HostOutput> download_outputs(Method& method, ExecContext& ctx);

}  // namespace lrb
