// Layer-rule probe (tests/CMakeLists.txt): compiled as a harness-layer file, this upward include must fail.
#include "harness/registry.hpp"
#include "workloads/adapter_projection/problem.hpp"

int lrbench_layer_probe_upward() { return 0; }
