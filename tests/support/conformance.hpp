#pragma once
// The conformance cases, generated from the registry: every listed method x every backend it declares x
// its family's catalogue of odd shapes x its default parameters and each of its declared conformance_params.
// No hand-kept method list: a method added by one folder is covered.
#include <string>
#include <vector>

#include <fmt/format.h>

#include "harness/registry.hpp"

namespace lrb::test {

struct ConformanceCase {
  std::string family, method;
  Backend backend;
  std::size_t shape;  // index into the family's conformance_shapes()
  Json values;
  Json params = Json::object();  // the method's parameters: {} (defaults) or one of its conformance_params
  std::size_t variant = 0;       // 0: defaults; v: conformance_params[v - 1]
  std::string name() const {
    return fmt::format("{}_{}_{}_shape{}{}", family, method, to_string(backend), shape,
                       variant ? fmt::format("_variant{}", variant) : "");
  }
};

inline std::vector<ConformanceCase> conformance_cases(Backend backend) {
  std::vector<ConformanceCase> out;
  for (const TaskFamily* f : Registry::instance().families()) {
    const auto shapes = f->conformance_shapes();
    for (const MethodInfo* m : Registry::instance().methods(f->id(), false))
      if (m->supports_backend(backend))
        for (std::size_t v = 0; v <= m->conformance_params.size(); ++v)
          for (std::size_t i = 0; i < shapes.size(); ++i)
            out.push_back({f->id(), m->id, backend, i, shapes[i], v ? m->conformance_params[v - 1] : Json::object(), v});
  }
  return out;
}

inline void PrintTo(const ConformanceCase& c, std::ostream* os) { *os << c.name(); }

}  // namespace lrb::test
