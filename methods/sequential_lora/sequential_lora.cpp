// sequential_lora: the base GEMM, then per adapter group two GEMMs, T = X_g A^T and
// Y_g += s T B^T (a loop over the batch's adapters, as HF PEFT does for mixed batches).
#include "harness/registry.hpp"
#include "methods/sequential_lora/sequential_lora_cpu.hpp"

namespace lrb {
LRBENCH_REGISTER_METHOD(adapter_projection, "sequential_lora", SequentialLoraCpu);
}  // namespace lrb
