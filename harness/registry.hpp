#pragma once
// Self-registration of task families, methods, workload generators and model shapes.
// Each registers from its own translation unit with one macro line; the library is built as a CMake
// OBJECT library so no registration is dropped by the linker.
#include <any>
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

struct MethodInfo {
  std::string family;
  std::string id;
  std::string description;
  std::vector<Backend> backends;
  ParamSpecs params;
  std::function<std::unique_ptr<Method>(const Params&)> make;
  bool hidden = false;  // test-only methods: not listed
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
  std::vector<WorkloadInfo> workloads_;
  std::vector<ModelShape> models_;
};

// A method class provides: static std::string description(); static ParamSpecs params();
// static std::vector<Backend> backends(); and a constructor taking const Params&.
template <class M>
bool register_method(const std::string& family, const std::string& id, bool hidden = false) {
  return Registry::instance().add_method(MethodInfo{family, id, M::description(), M::backends(), M::params(),
                                                    [](const Params& p) { return std::make_unique<M>(p); },
                                                    hidden});
}

}  // namespace lrb

#define LRBENCH_CONCAT_INNER(a, b) a##b
#define LRBENCH_CONCAT(a, b) LRBENCH_CONCAT_INNER(a, b)

// LRBENCH_REGISTER_METHOD(adapter_projection, "sequential_lora", SequentialLora);
#define LRBENCH_REGISTER_METHOD(family, id, Class)                                                      \
  [[maybe_unused]] static const bool LRBENCH_CONCAT(lrbench_method_registered_, __LINE__) = \
      ::lrb::register_method<Class>(#family, id)

// Test-only methods (fault injection): registered, runnable, not listed by `lrbench list`.
#define LRBENCH_REGISTER_HIDDEN_METHOD(family, id, Class)                                               \
  [[maybe_unused]] static const bool LRBENCH_CONCAT(lrbench_method_registered_, __LINE__) = \
      ::lrb::register_method<Class>(#family, id, true)
