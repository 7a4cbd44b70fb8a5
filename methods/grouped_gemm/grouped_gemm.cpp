// grouped_gemm, CPU path: the same arithmetic as sequential_lora (its CUDA path is what differs: one
// cuBLAS grouped GEMM for all shrinks and one for all expands of the pass).
#include "harness/registry.hpp"
#include "methods/sequential_lora/sequential_lora_cpu.hpp"

namespace lrb {
namespace {
class GroupedGemmCpu final : public SequentialLoraCpu {
 public:
  using SequentialLoraCpu::SequentialLoraCpu;
  static std::string description() {
    return "base GEMMs + one cuBLAS grouped GEMM over every (projection, adapter) shrink and one for the expands";
  }
};
}  // namespace
LRBENCH_REGISTER_METHOD(adapter_projection, "grouped_gemm", GroupedGemmCpu);
}  // namespace lrb
