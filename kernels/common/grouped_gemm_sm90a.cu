// CUTLASS 3 grouped GEMM for sm_90a (kernels/common/grouped_gemm_sm90a.cuh). Two instantiations, chosen by the
// largest batch (the GEMMs' N): at batch <= 64 the pass streams W (memory-bound: a 128 x 64 tile, pingpong
// consumers so one warp group's epilogue overlaps the other's mainloop, deep TMA pipeline); above it the pass is
// compute-bound (a 128 x 256 cooperative tile, a 2 x 1 cluster multicasting X's tile to both M tiles).
// GEMM terms: M = d_out, N = batch, K = d_in; A = W row-major, B = X as a K-major (column-major) K x N, D = Y as
// column-major M x N (Y[t][o] at t d_out + o). beta = 0: C is never read.
#include "kernels/common/grouped_gemm_sm90a.cuh"

#include <cstdint>
#include <stdexcept>
#include <variant>

#include "cute/tensor.hpp"
#include "cutlass/cutlass.h"
#include "cutlass/epilogue/collective/collective_builder.hpp"
#include "cutlass/gemm/collective/collective_builder.hpp"
#include "cutlass/gemm/device/gemm_universal_adapter.h"
#include "cutlass/gemm/dispatch_policy.hpp"
#include "cutlass/gemm/group_array_problem_shape.hpp"
#include "cutlass/gemm/kernel/gemm_universal.hpp"
#include "cutlass/util/packed_stride.hpp"

namespace lrb::kernels {
namespace {

using namespace cute;
using ProblemShape = cutlass::gemm::GroupProblemShape<Shape<int, int, int>>;
using Element = cutlass::half_t;
using LayoutA = cutlass::layout::RowMajor;
using LayoutB = cutlass::layout::ColumnMajor;
using LayoutC = cutlass::layout::ColumnMajor;
constexpr int kAlign = 8;  // 16 bytes of fp16

struct NarrowConfig {  // batch <= 64: W streamed, pingpong
  using Kernel = cutlass::gemm::KernelPtrArrayTmaWarpSpecializedPingpong;
  using Epilogue = cutlass::epilogue::PtrArrayTmaWarpSpecializedPingpong;
  using Tile = Shape<_128, _64, _128>;
  using Cluster = Shape<_1, _1, _1>;
  static constexpr const char* name = "128x64x128 pingpong, cluster 1x1";
};
struct WideConfig {  // batch > 64: compute-bound, cooperative
  using Kernel = cutlass::gemm::KernelPtrArrayTmaWarpSpecializedCooperative;
  using Epilogue = cutlass::epilogue::PtrArrayTmaWarpSpecializedCooperative;
  using Tile = Shape<_128, _256, _64>;
  using Cluster = Shape<_2, _1, _1>;
  static constexpr const char* name = "128x256x64 cooperative, cluster 2x1";
};

template <class C>
struct GemmOf {
  using CollectiveEpilogue = typename cutlass::epilogue::collective::CollectiveBuilder<
      cutlass::arch::Sm90, cutlass::arch::OpClassTensorOp, typename C::Tile, typename C::Cluster,
      cutlass::epilogue::collective::EpilogueTileAuto, float, float, Element, LayoutC*, kAlign, Element, LayoutC*,
      kAlign, typename C::Epilogue, cutlass::epilogue::fusion::LinearCombination<Element, float>>::CollectiveOp;
  using CollectiveMainloop = typename cutlass::gemm::collective::CollectiveBuilder<
      cutlass::arch::Sm90, cutlass::arch::OpClassTensorOp, Element, LayoutA*, kAlign, Element, LayoutB*, kAlign, float,
      typename C::Tile, typename C::Cluster,
      cutlass::gemm::collective::StageCountAutoCarveout<static_cast<int>(
          sizeof(typename CollectiveEpilogue::SharedStorage))>,
      typename C::Kernel>::CollectiveOp;
  using Kernel = cutlass::gemm::kernel::GemmUniversal<ProblemShape, CollectiveMainloop, CollectiveEpilogue>;
  using Gemm = cutlass::gemm::device::GemmUniversalAdapter<Kernel>;
  using StrideA = typename Kernel::InternalStrideA;
  using StrideB = typename Kernel::InternalStrideB;
  using StrideC = typename Kernel::InternalStrideC;
  using StrideD = typename Kernel::InternalStrideD;
};

void check(cudaError_t e, const char* what) {
  if (e != cudaSuccess) throw std::runtime_error(std::string("grouped_gemm_sm90a: ") + what + ": " + cudaGetErrorString(e));
}
void check(cutlass::Status s, const char* what) {
  if (s != cutlass::Status::kSuccess)
    throw std::runtime_error(std::string("grouped_gemm_sm90a: ") + what + ": " + cutlassGetStatusString(s));
}

// A device copy of a host vector, freed with the plan.
struct DeviceBytes {
  void* p = nullptr;
  DeviceBytes() = default;
  DeviceBytes(const DeviceBytes&) = delete;
  DeviceBytes& operator=(const DeviceBytes&) = delete;
  ~DeviceBytes() {
    if (p) cudaFree(p);
  }
  void reset(std::size_t bytes) {
    if (p) cudaFree(p);
    p = nullptr;
    if (bytes) check(cudaMalloc(&p, bytes), "cudaMalloc");
  }
  template <class T>
  T* upload(const std::vector<T>& v, cudaStream_t stream) {
    reset(v.size() * sizeof(T));
    check(cudaMemcpyAsync(p, v.data(), v.size() * sizeof(T), cudaMemcpyHostToDevice, stream), "upload");
    return static_cast<T*>(p);
  }
};

template <class C>
struct Planned {
  using G = GemmOf<C>;
  typename G::Gemm gemm;
  std::vector<typename ProblemShape::UnderlyingProblemShape> shapes_host;  // the arguments point at it
  DeviceBytes shapes, a, b, c, d, sa, sb, sc, sd, workspace;

  void plan(const std::vector<GroupedGemmSm90aProblem>& ps, cudaStream_t stream) {
    std::vector<const Element*> pa, pb;
    std::vector<Element*> pd;
    std::vector<typename G::StrideA> stra;
    std::vector<typename G::StrideB> strb;
    std::vector<typename G::StrideC> strc;
    std::vector<typename G::StrideD> strd;
    shapes_host.clear();
    for (const auto& p : ps) {
      const int M = p.d_out, N = p.batch, K = p.d_in;
      shapes_host.push_back({M, N, K});
      pa.push_back(reinterpret_cast<const Element*>(p.W));
      pb.push_back(reinterpret_cast<const Element*>(p.X));
      pd.push_back(reinterpret_cast<Element*>(p.Y));
      stra.push_back(cutlass::make_cute_packed_stride(typename G::StrideA{}, {M, K, 1}));
      strb.push_back(cutlass::make_cute_packed_stride(typename G::StrideB{}, {N, K, 1}));
      strc.push_back(cutlass::make_cute_packed_stride(typename G::StrideC{}, {M, N, 1}));
      strd.push_back(cutlass::make_cute_packed_stride(typename G::StrideD{}, {M, N, 1}));
    }
    auto* shapes_dev = shapes.upload(shapes_host, stream);
    auto* a_dev = a.upload(pa, stream);
    auto* b_dev = b.upload(pb, stream);
    std::vector<const Element*> pc(pd.begin(), pd.end());  // beta = 0: never read
    auto* c_dev = c.upload(pc, stream);
    auto* d_dev = d.upload(pd, stream);
    auto* sa_dev = sa.upload(stra, stream);
    auto* sb_dev = sb.upload(strb, stream);
    auto* sc_dev = sc.upload(strc, stream);
    auto* sd_dev = sd.upload(strd, stream);

    cutlass::KernelHardwareInfo hw;
    check(cudaGetDevice(&hw.device_id), "cudaGetDevice");
    hw.sm_count = cutlass::KernelHardwareInfo::query_device_multiprocessor_count(hw.device_id);
    typename G::Gemm::Arguments args;
    decltype(args.epilogue.thread) fusion;
    fusion.alpha = 1.0f;
    fusion.beta = 0.0f;
    fusion.alpha_ptr = nullptr;
    fusion.beta_ptr = nullptr;
    fusion.alpha_ptr_array = nullptr;
    fusion.beta_ptr_array = nullptr;
    fusion.dAlpha = {cute::_0{}, cute::_0{}, 0};
    fusion.dBeta = {cute::_0{}, cute::_0{}, 0};
    args = typename G::Gemm::Arguments{cutlass::gemm::GemmUniversalMode::kGrouped,
                                       {static_cast<int>(ps.size()), shapes_dev, shapes_host.data()},
                                       {a_dev, sa_dev, b_dev, sb_dev},
                                       {fusion, c_dev, sc_dev, d_dev, sd_dev},
                                       hw};
    check(gemm.can_implement(args), "can_implement");
    workspace.reset(G::Gemm::get_workspace_size(args));
    check(gemm.initialize(args, workspace.p, stream), "initialize");
    check(cudaStreamSynchronize(stream), "plan");  // the host vectors go out of scope
  }
  void run(cudaStream_t stream) { check(gemm.run(stream), "run"); }
};

}  // namespace

struct GroupedGemmSm90a::Impl {
  std::variant<std::monostate, Planned<NarrowConfig>, Planned<WideConfig>> planned;
  std::string config;
};

GroupedGemmSm90a::GroupedGemmSm90a() : impl_(std::make_unique<Impl>()) {}
GroupedGemmSm90a::~GroupedGemmSm90a() = default;
GroupedGemmSm90a::GroupedGemmSm90a(GroupedGemmSm90a&&) noexcept = default;
GroupedGemmSm90a& GroupedGemmSm90a::operator=(GroupedGemmSm90a&&) noexcept = default;

std::string GroupedGemmSm90a::unavailable_reason() {
#if defined(CUTLASS_ARCH_MMA_MODIFIABLE_TMA_SM90_SUPPORTED)
  int device = 0, major = 0, minor = 0;
  if (cudaGetDevice(&device) != cudaSuccess) return "no CUDA device";
  cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, device);
  cudaDeviceGetAttribute(&minor, cudaDevAttrComputeCapabilityMinor, device);
  if (major != 9 || minor != 0) return "the CUTLASS grouped GEMM is built for sm_90a (H100/H200) only";
  return "";
#else
  return "this CUTLASS build lacks the sm_90 modifiable-TMA grouped GEMM (CUDA >= 12.3)";
#endif
}

std::string GroupedGemmSm90a::unsupported_reason(const std::vector<GroupedGemmSm90aProblem>& problems) {
  for (const auto& p : problems) {
    if (p.d_in % kAlign != 0 || p.d_out % kAlign != 0)
      return "TMA needs rows of 16 bytes: d_in and d_out multiples of 8 (d_in = " + std::to_string(p.d_in) +
             ", d_out = " + std::to_string(p.d_out) + ")";
    for (const void* q : {static_cast<const void*>(p.W), static_cast<const void*>(p.X), static_cast<const void*>(p.Y)})
      if (reinterpret_cast<std::uintptr_t>(q) % 16 != 0) return "TMA needs 16-byte aligned bases";
  }
  return "";
}

void GroupedGemmSm90a::plan(const std::vector<GroupedGemmSm90aProblem>& problems, cudaStream_t stream) {
  if (const std::string why = unavailable_reason(); !why.empty()) throw std::runtime_error(why);
  if (const std::string why = unsupported_reason(problems); !why.empty()) throw std::runtime_error(why);
  int max_batch = 0;
  for (const auto& p : problems) max_batch = std::max(max_batch, p.batch);
  if (max_batch <= 64) {
    impl_->planned.emplace<Planned<NarrowConfig>>().plan(problems, stream);
    impl_->config = NarrowConfig::name;
  } else {
    impl_->planned.emplace<Planned<WideConfig>>().plan(problems, stream);
    impl_->config = WideConfig::name;
  }
}

void GroupedGemmSm90a::run(cudaStream_t stream) const {
  std::visit(
      [&](auto& p) {
        if constexpr (!std::is_same_v<std::decay_t<decltype(p)>, std::monostate>) p.run(stream);
      },
      impl_->planned);
}

std::string GroupedGemmSm90a::config() const { return impl_->config; }

}  // namespace lrb::kernels
