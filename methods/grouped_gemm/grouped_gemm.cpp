// grouped_gemm, CPU path: the same arithmetic as sequential_lora (its CUDA path is what differs: one
// cuBLAS grouped GEMM for all shrinks and one for all expands of the pass).
#include "harness/registry.hpp"
#include "methods/sequential_lora/sequential_lora_cpu.hpp"

namespace lrb {
LRBENCH_DECLARE_METHOD(adapter_projection, "grouped_gemm",
                       {.description = "base GEMMs + one cuBLAS grouped GEMM over every (projection, adapter) shrink "
                                       "and one for the expands"});
LRBENCH_REGISTER_BACKEND("grouped_gemm", cpu, SequentialLoraCpu);
}  // namespace lrb
