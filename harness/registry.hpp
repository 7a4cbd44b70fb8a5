#pragma once
// Self-registration of task families, methods, workload generators and model shapes.
// Each registers from its own translation unit with one macro line; the library is built as a CMake
// OBJECT library so no registration is dropped by the linker.
#include <any>
#include <map>
#include <tuple>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "harness/backend.hpp"
#include "harness/method.hpp"
#include "harness/model_shape.hpp"
#include "harness/params.hpp"
#include "harness/task_family.hpp"

namespace lrb {

using MethodFactory = std::function<std::unique_ptr<Method>(const Params&)>;

// A method id with one implementation per backend. The CPU implementation registers the id with its
// description and parameters; a CUDA implementation (methods/<id>/*_cuda.cpp) adds its backend.
struct MethodInfo {
  std::string family;
  std::string id;
  std::string description;
  ParamSpecs params;
  std::map<Backend, MethodFactory> makers;
  bool hidden = false;  // test-only methods: not listed

  std::vector<Backend> backends() const;
  bool supports(Backend b) const { return makers.count(b) > 0; }
  // Throws std::invalid_argument when the method has no implementation for `backend`.
  std::unique_ptr<Method> make(const Params& params, Backend backend) const;
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
  bool add_method(MethodInfo info);
  // Adds a backend's implementation to a method id (registered before or after the id itself).
  bool add_method_backend(const std::string& family, const std::string& id, Backend backend, MethodFactory make);
  bool add_workload(WorkloadInfo info);
  bool add_model(ModelShape model);

  const TaskFamily* family(const std::string& id) const;
  const MethodInfo* method(const std::string& id) const;  // method ids are unique across families
  const WorkloadInfo* workload(const std::string& family, const std::string& id) const;
  const ModelShape* model(const std::string& id) const;

  std::vector<const TaskFamily*> families() const;
  std::vector<const MethodInfo*> methods(const std::string& family = "") const;
  std::vector<const WorkloadInfo*> workloads(const std::string& family = "") const;
  std::vector<const ModelShape*> models() const;
  std::vector<std::string> model_ids() const;  // choices of every family's `model` parameter

 private:
  std::vector<std::shared_ptr<TaskFamily>> families_;
  std::vector<MethodInfo> methods_;
  std::vector<std::tuple<std::string, std::string, Backend, MethodFactory>> pending_backends_;
  std::vector<WorkloadInfo> workloads_;
  std::vector<ModelShape> models_;
};

// A CPU method class provides: static std::string description(); static ParamSpecs params(); and a
// constructor taking const Params&. A backend implementation needs only the constructor.
template <class M>
bool register_method(const std::string& family, const std::string& id, bool hidden = false) {
  MethodInfo info{family, id, M::description(), M::params(), {}, hidden};
  info.makers[Backend::cpu] = [](const Params& p) { return std::make_unique<M>(p); };
  return Registry::instance().add_method(std::move(info));
}

template <class M>
bool register_method_backend(const std::string& family, const std::string& id, Backend backend) {
  return Registry::instance().add_method_backend(family, id, backend,
                                                 [](const Params& p) { return std::make_unique<M>(p); });
}

}  // namespace lrb

#define LRBENCH_CONCAT_INNER(a, b) a##b
#define LRBENCH_CONCAT(a, b) LRBENCH_CONCAT_INNER(a, b)

// LRBENCH_REGISTER_METHOD(adapter_projection, "sequential_lora", SequentialLora);
#define LRBENCH_REGISTER_METHOD(family, id, Class)                                                      \
  [[maybe_unused]] static const bool LRBENCH_CONCAT(lrbench_method_registered_, __LINE__) = \
      ::lrb::register_method<Class>(#family, id)

// The CUDA implementation of a method id: LRBENCH_REGISTER_CUDA_METHOD(adapter_projection, "base_only", BaseOnlyCuda);
#define LRBENCH_REGISTER_CUDA_METHOD(family, id, Class)                                                 \
  [[maybe_unused]] static const bool LRBENCH_CONCAT(lrbench_method_registered_, __LINE__) = \
      ::lrb::register_method_backend<Class>(#family, id, ::lrb::Backend::cuda)

// Test-only methods (fault injection): registered, runnable, not listed by `lrbench list`.
#define LRBENCH_REGISTER_HIDDEN_METHOD(family, id, Class)                                               \
  [[maybe_unused]] static const bool LRBENCH_CONCAT(lrbench_method_registered_, __LINE__) = \
      ::lrb::register_method<Class>(#family, id, true)
