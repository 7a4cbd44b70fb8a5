// bgmv, CUDA path: methods/bgmv/punica_cuda.hpp walking the batch one token at a time.
#include "harness/registry.hpp"
#include "methods/bgmv/punica_cuda.hpp"

namespace lrb::cuda {
LRBENCH_REGISTER_BACKEND("bgmv", cuda, PunicaLoraCudaOf<PunicaLoraCuda::Walk::per_token>);
}  // namespace lrb::cuda
