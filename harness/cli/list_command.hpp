#pragma once
#include <ostream>
#include <string>

namespace lrb {
// Prints the registry: `what` is tasks | methods | workloads | models | all.
void print_registry(std::ostream& out, const std::string& what);
}  // namespace lrb
