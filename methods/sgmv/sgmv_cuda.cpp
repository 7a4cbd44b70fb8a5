// sgmv, CUDA path: methods/bgmv/punica_cuda.hpp walking the batch layout's segments.
#include "harness/registry.hpp"
#include "methods/bgmv/punica_cuda.hpp"

namespace lrb::cuda {
namespace {
class SgmvCuda final : public PunicaLoraCuda {
 public:
  explicit SgmvCuda(const Params& p) : PunicaLoraCuda(Walk::segments, p) {}
};
}  // namespace
LRBENCH_REGISTER_BACKEND("sgmv", cuda, SgmvCuda);
}  // namespace lrb::cuda
