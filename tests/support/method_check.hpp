#pragma once
// Runs one registered method on one point through the harness's correctness pass (poison, guard, run,
// compare with FP64), then its post-run hook, as the runner does.
#include <stdexcept>
#include <string>

#include "harness/check.hpp"
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
  CheckResult check;  // check.outputs: the outputs on the host, as compared
  Footprint footprint;
  std::unique_ptr<Method> method;
  std::shared_ptr<const Problem> problem;
  const MethodInfo* info = nullptr;
};

inline MethodRun check_method(const std::string& family_id, const std::string& method_id, const Json& values,
                              const Json& params = Json::object(), Backend backend = Backend::cpu,
                              const CheckOptions& options = CheckOptions{}) {
  const TaskFamily* family = Registry::instance().family(family_id);
  const MethodInfo* info = Registry::instance().method(method_id);
  if (!family || !info) throw std::logic_error("unknown family or method");
  MethodRun r;
  r.info = info;
  const Point point = make_point(family_id, values);
  // A shape the config validation would reject is the test's own mistake: say so instead of building it.
  if (const auto bad = family->invalid_point(point))
    throw std::invalid_argument(family_id + " test shape " + values.dump() + ": " + bad->first + ": " + bad->second);
  r.ctx = make_context(backend);
  const Params p(with_defaults(info->params, params));
  r.support = family->check_point(point);
  if (r.support.ok) r.support = info->point_support(point, p);
  r.method = info->make(p, backend);
  if (r.support.ok) r.support = r.method->can_run(point, backend);
  if (!r.support.ok) return r;
  r.problem = family->make_problem(point);
  r.method->prepare(*r.problem, *r.ctx);
  r.check = ::lrb::check_method(*family, *info, *r.problem, *r.method, *r.ctx, options);
  r.method->after_run(*r.ctx);
  r.footprint = r.method->footprint();
  return r;
}

}  // namespace lrb::test
