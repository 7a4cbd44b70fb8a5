// sgmv, CUDA path: methods/bgmv/punica_cuda.hpp walking the batch layout's segments.
#include "harness/registry.hpp"
#include "methods/bgmv/punica_cuda.hpp"

namespace lrb::cuda {
LRBENCH_REGISTER_BACKEND("sgmv", cuda, PunicaLoraCudaOf<PunicaLoraCuda::Walk::segments>);
}  // namespace lrb::cuda
