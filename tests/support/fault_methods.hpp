#pragma once
// Test-only adapter_projection method "test_fault" (hidden from `lrbench list`): computes the right
// answer, except on points whose batch equals `fail_on_batch`, where it throws, returns a NaN, or leaves
// one element unwritten (`mode`). Linked into the test executables only.
namespace lrb::test {
void link_fault_methods();  // referencing this keeps the registration in static links
}
