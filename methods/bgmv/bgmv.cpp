// bgmv (Punica's batched gather matrix-vector): each token's LoRA delta from its own adapter index, tokens in
// batch order, nothing sorted. CPU path: sequential_lora's arithmetic (the same product); the CUDA path
// (bgmv_cuda.cpp) is what differs.
#include "harness/registry.hpp"
#include "methods/bgmv/punica_params.hpp"
#include "methods/sequential_lora/sequential_lora_cpu.hpp"

namespace lrb {
LRBENCH_DECLARE_METHOD(adapter_projection, "bgmv",
                       {.description = "Punica BGMV: base GEMMs + one shrink and one expand launch for every projection, "
                                       "token by token with its adapter index (CUDA: ranks up to 64)",
                        .params = punica::params(),
                        .conformance_params = {Json{{"pass", "fused"}}}});
LRBENCH_REGISTER_BACKEND("bgmv", cpu, SequentialLoraCpu);
}  // namespace lrb
