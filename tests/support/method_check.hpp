#pragma once
// Runs one registered method on one point through its family's correctness pass (poison, run, compare
// with FP64), as the runner does.
#include <stdexcept>
#include <string>

#include "harness/registry.hpp"
#include "harness/sweep.hpp"

namespace lrb::test {

inline Point make_point(const std::string& family, const Json& values) {
  RunBlock block;
  block.task = family;
  block.workload = values;
  return expand_points(block, *Registry::instance().family(family)).at(0);
}

struct MethodRun {
  std::unique_ptr<ExecContext> ctx;  // first: outlives the method, which may hold a pointer to it
  Support support;
  CheckResult check;
  Footprint footprint;
  std::unique_ptr<Method> method;
  std::shared_ptr<const Problem> problem;
};

inline MethodRun check_method(const std::string& family_id, const std::string& method_id, const Json& values,
                              const Json& params = Json::object(), Backend backend = Backend::cpu) {
  const TaskFamily* family = Registry::instance().family(family_id);
  const MethodInfo* info = Registry::instance().method(method_id);
  if (!family || !info) throw std::logic_error("unknown family or method");
  MethodRun r;
  const Point point = make_point(family_id, values);
  r.ctx = backend == Backend::cpu ? std::make_unique<ExecContext>(Backend::cpu) : make_device_context();
  r.method = info->make(Params(with_defaults(info->params, params)), backend);
  r.support = r.method->can_run(point, backend);
  if (!r.support.ok) return r;
  r.problem = family->make_problem(point);
  r.method->prepare(*r.problem, *r.ctx);
  r.check = family->check(*r.problem, *r.method, *r.ctx, CheckOptions{});
  r.footprint = r.method->footprint();
  return r;
}

}  // namespace lrb::test
