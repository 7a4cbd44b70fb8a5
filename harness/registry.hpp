#pragma once
// Self-registration of task families, methods, workload generators and model shapes.
// A method is declared once (LRBENCH_DECLARE_METHOD: id, family, description, parameters, traits) and each
// backend implementation registers beside it (LRBENCH_REGISTER_BACKEND), in any order and in any
// translation unit; a method may have a CUDA implementation only. The libraries are CMake OBJECT
// libraries, so no registration is dropped by the linker.
#include <any>
#include <functional>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "harness/backend.hpp"
#include "harness/method.hpp"
#include "harness/model_shape.hpp"
#include "harness/params.hpp"
#include "harness/task_family.hpp"

namespace lrb {

using MethodFactory = std::function<std::unique_ptr<Method>(const Params&)>;

// What a method is, on every backend: the correctness pass and the families read these, so no
// implementation restates them.
struct MethodTraits {
  // Relative error above which the output is wrong, not merely lossy. Unset: the family's default;
  // infinity: lossy by design (the error is reported, never a failure); 0: bit-exact.
  std::optional<double> tolerance;
  // What the output must equal, in the family's terms ("base": adapter_projection's base GEMM alone;
  // "full": lowrank_linear's uncompressed layer). Empty: the family's default target.
  std::string target;
  // Stores its data compressed (adapter codes): the family reports a compression ratio.
  bool compresses = false;
  // kv_compression: the blob is byte-identical on every backend (a parallel entropy coder's is not);
  // the CUDA/CPU test compares blobs only where this holds, decoded caches always.
  bool deterministic_blob = true;
  // For a method without a CPU implementation: the method whose CPU path its output is compared with on
  // the GPU (the FP64 reference judges it everywhere).
  std::string reference;
  static constexpr double lossy = std::numeric_limits<double>::infinity();
};

// Applicability that holds on every backend (a layout that needs basis_rank % 8 == 0, a mode the method
// has nothing to run in); skipped, not failed.
using PointSupport = std::function<Support(const Point& point, const Params& params)>;

struct MethodDecl {
  std::string family;
  std::string id;
  std::string description;
  ParamSpecs params;
  MethodTraits traits;
  PointSupport supports;  // empty: every point
  bool hidden = false;    // test-only methods: runnable, not listed, not in the conformance suite
  // Parameter sets beyond the defaults that select another code path (a kernel, a pass): the conformance suite
  // runs each of them on every shape too, so a path behind a parameter is checked like the default one.
  std::vector<Json> conformance_params;
};

// A declared method with its backend implementations.
struct MethodInfo : MethodDecl {
  std::map<Backend, MethodFactory> makers;

  std::vector<Backend> backends() const;
  bool supports_backend(Backend b) const { return makers.count(b) > 0; }
  // Throws std::invalid_argument when the method has no implementation for `backend`.
  std::unique_ptr<Method> make(const Params& params, Backend backend) const;
  // The declaration's point-level support (yes when it has none).
  Support point_support(const Point& point, const Params& params) const;
  // The traits' tolerance, or the family's default.
  double tolerance(const TaskFamily& family) const;
};

struct WorkloadInfo {
  std::string family;
  std::string id;
  std::string description;
  ParamSpecs params;
  std::any generate;  // the family's generator function type (see workloads/<family>/)
};

class Registry {
 public:
  static Registry& instance();

  bool add_family(std::shared_ptr<TaskFamily> family);
  bool declare_method(MethodDecl decl);
  bool add_backend(const std::string& id, Backend backend, MethodFactory make);
  bool add_workload(WorkloadInfo info);
  bool add_model(ModelShape model);

  const TaskFamily* family(const std::string& id) const;
  const MethodInfo* method(const std::string& id) const;  // method ids are unique across families
  const WorkloadInfo* workload(const std::string& family, const std::string& id) const;
  const ModelShape* model(const std::string& id) const;

  std::vector<const TaskFamily*> families() const;
  // Declared methods of a family (all families when empty); hidden ones only when asked.
  std::vector<const MethodInfo*> methods(const std::string& family = "", bool include_hidden = true) const;
  std::vector<const WorkloadInfo*> workloads(const std::string& family = "") const;
  std::vector<const ModelShape*> models() const;
  std::vector<std::string> model_ids() const;  // choices of every family's `model` parameter

 private:
  // Joins implementations to their declarations on first lookup (registration order across translation
  // units is unspecified); an implementation without a declaration, or a reference to an unknown method,
  // is a programming error reported there.
  void link() const;

  std::vector<std::shared_ptr<TaskFamily>> families_;
  mutable std::vector<MethodInfo> methods_;
  struct Implementation {
    std::string id;
    Backend backend;
    MethodFactory make;
  };
  mutable std::vector<Implementation> implementations_;
  mutable bool linked_ = false;
  std::vector<WorkloadInfo> workloads_;
  std::vector<ModelShape> models_;
};

template <class M>
bool register_backend(const std::string& id, Backend backend) {
  return Registry::instance().add_backend(id, backend, [](const Params& p) { return std::make_unique<M>(p); });
}

}  // namespace lrb

#define LRBENCH_CONCAT_INNER(a, b) a##b
#define LRBENCH_CONCAT(a, b) LRBENCH_CONCAT_INNER(a, b)

// LRBENCH_DECLARE_METHOD(adapter_projection, "s2lc", {.description = ..., .params = ..., .traits = ...});
#define LRBENCH_DECLARE_METHOD(family_, id_, ...)                                                      \
  [[maybe_unused]] static const bool LRBENCH_CONCAT(lrbench_method_declared_, __LINE__) = [] {         \
    ::lrb::MethodDecl d = __VA_ARGS__;                                                                 \
    d.family = #family_;                                                                               \
    d.id = id_;                                                                                        \
    return ::lrb::Registry::instance().declare_method(std::move(d));                                   \
  }()

// LRBENCH_REGISTER_BACKEND("s2lc", cpu, S2lcCpu); LRBENCH_REGISTER_BACKEND("s2lc", cuda, S2lcCuda);
#define LRBENCH_REGISTER_BACKEND(id, backend, Class)                                                   \
  [[maybe_unused]] static const bool LRBENCH_CONCAT(lrbench_backend_registered_, __LINE__) =           \
      ::lrb::register_backend<Class>(id, ::lrb::Backend::backend)
