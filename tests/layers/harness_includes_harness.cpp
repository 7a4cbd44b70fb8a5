// Layer-rule probe (tests/CMakeLists.txt): the same setup as the upward probe, with a same-layer include
// only; it must compile, so the upward probe's failure is the rule and not a broken probe.
#include "harness/registry.hpp"

int lrbench_layer_probe_same_layer() { return 0; }
