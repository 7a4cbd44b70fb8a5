// GroupedGemmSm90a where the build has no CUTLASS (deps/cutlass missing) or no sm_90 target: nothing runs, and
// unavailable_reason() says why, so base_only's cutlass_grouped schedule is skipped with it.
#include "kernels/common/grouped_gemm_sm90a.cuh"

#include <stdexcept>

namespace lrb::kernels {

struct GroupedGemmSm90a::Impl {};
GroupedGemmSm90a::GroupedGemmSm90a() : impl_(std::make_unique<Impl>()) {}
GroupedGemmSm90a::~GroupedGemmSm90a() = default;
GroupedGemmSm90a::GroupedGemmSm90a(GroupedGemmSm90a&&) noexcept = default;
GroupedGemmSm90a& GroupedGemmSm90a::operator=(GroupedGemmSm90a&&) noexcept = default;

std::string GroupedGemmSm90a::unavailable_reason() {
  return "built without CUTLASS for sm_90a (scripts/setup installs deps/cutlass; CMAKE_CUDA_ARCHITECTURES must "
         "include 90)";
}
std::string GroupedGemmSm90a::unsupported_reason(const std::vector<GroupedGemmSm90aProblem>&) {
  return unavailable_reason();
}
void GroupedGemmSm90a::plan(const std::vector<GroupedGemmSm90aProblem>&, cudaStream_t) {
  throw std::runtime_error(unavailable_reason());
}
void GroupedGemmSm90a::run(cudaStream_t) const { throw std::runtime_error(unavailable_reason()); }
std::string GroupedGemmSm90a::config() const { return ""; }

}  // namespace lrb::kernels
