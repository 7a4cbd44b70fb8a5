#pragma once
// The conformance cases, generated from the registry: every listed method x every backend it declares x
// its family's catalogue of odd shapes. No hand-kept method list: a method added by one folder is covered.
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
  std::string name() const { return fmt::format("{}_{}_{}_shape{}", family, method, to_string(backend), shape); }
};

inline std::vector<ConformanceCase> conformance_cases(Backend backend) {
  std::vector<ConformanceCase> out;
  for (const TaskFamily* f : Registry::instance().families()) {
    const auto shapes = f->conformance_shapes();
    for (const MethodInfo* m : Registry::instance().methods(f->id(), false))
      if (m->supports_backend(backend))
        for (std::size_t i = 0; i < shapes.size(); ++i) out.push_back({f->id(), m->id, backend, i, shapes[i]});
  }
  return out;
}

inline void PrintTo(const ConformanceCase& c, std::ostream* os) { *os << c.name(); }

}  // namespace lrb::test
