// sgmv (Punica's segmented gather matrix-vector): tokens sorted into segments by adapter (the batch layout),
// each adapter's factors read once per segment. CPU path: sequential_lora's arithmetic (the same product); the
// CUDA path (sgmv_cuda.cpp) is what differs.
#include "harness/registry.hpp"
#include "methods/bgmv/punica_params.hpp"
#include "methods/sequential_lora/sequential_lora_cpu.hpp"

namespace lrb {
LRBENCH_DECLARE_METHOD(adapter_projection, "sgmv",
                       {.description = "Punica SGMV: base GEMMs + one shrink and one expand launch for every projection "
                                       "over the tokens sorted into segments by adapter (CUDA: ranks up to 64)",
                        .params = punica::params(),
                        .conformance_params = {Json{{"pass", "fused"}}}});
LRBENCH_REGISTER_BACKEND("sgmv", cpu, SequentialLoraCpu);
}  // namespace lrb
