// sequential_lora: the base GEMM, then per adapter group two GEMMs, T = X_g A^T and
// Y_g += s T B^T (a loop over the batch's adapters, as HF PEFT does for mixed batches).
#include "harness/registry.hpp"
#include "methods/sequential_lora/sequential_lora_cpu.hpp"

namespace lrb {
LRBENCH_DECLARE_METHOD(adapter_projection, "sequential_lora",
                       {.description = "base GEMM + two GEMMs (shrink, expand) per adapter group"});
LRBENCH_REGISTER_BACKEND("sequential_lora", cpu, SequentialLoraCpu);
}  // namespace lrb
