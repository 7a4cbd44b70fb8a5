// bgmv, CUDA path: methods/bgmv/punica_cuda.hpp walking the batch one token at a time.
#include "harness/registry.hpp"
#include "methods/bgmv/punica_cuda.hpp"

namespace lrb::cuda {
namespace {
class BgmvCuda final : public PunicaLoraCuda {
 public:
  explicit BgmvCuda(const Params& p) : PunicaLoraCuda(Walk::per_token, p) {}
};
}  // namespace
LRBENCH_REGISTER_BACKEND("bgmv", cuda, BgmvCuda);
}  // namespace lrb::cuda
