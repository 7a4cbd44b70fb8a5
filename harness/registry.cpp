#include "harness/registry.hpp"

#include <stdexcept>

namespace lrb {

Registry& Registry::instance() {
  static Registry registry;
  return registry;
}

bool Registry::add_family(std::shared_ptr<TaskFamily> family) {
  if (this->family(family->id())) throw std::logic_error("task family registered twice: " + family->id());
  families_.push_back(std::move(family));
  return true;
}

std::vector<Backend> MethodInfo::backends() const {
  std::vector<Backend> out;
  for (const auto& [b, f] : makers) out.push_back(b);
  return out;
}

std::unique_ptr<Method> MethodInfo::make(const Params& params, Backend backend) const {
  auto it = makers.find(backend);
  if (it == makers.end()) throw std::invalid_argument("method " + id + " has no " + to_string(backend) + " path");
  return it->second(params);
}

Support MethodInfo::point_support(const Point& point, const Params& params) const {
  return supports ? supports(point, params) : Support::yes();
}

double MethodInfo::tolerance(const TaskFamily& family) const {
  return traits.tolerance.value_or(family.default_tolerance());
}

bool Registry::declare_method(MethodDecl decl) {
  for (const auto& m : methods_)
    if (m.id == decl.id) throw std::logic_error("method declared twice: " + decl.id);
  MethodInfo info;
  static_cast<MethodDecl&>(info) = std::move(decl);
  methods_.push_back(std::move(info));
  linked_ = false;
  return true;
}

bool Registry::add_backend(const std::string& id, Backend backend, MethodFactory make) {
  implementations_.push_back({id, backend, std::move(make)});
  linked_ = false;
  return true;
}

void Registry::link() const {
  if (linked_) return;
  linked_ = true;
  for (auto& impl : implementations_) {
    MethodInfo* target = nullptr;
    for (auto& m : methods_)
      if (m.id == impl.id) target = &m;
    if (!target) throw std::logic_error("a " + to_string(impl.backend) + " implementation of '" + impl.id +
                                        "' is registered, but no LRBENCH_DECLARE_METHOD declares that method");
    if (target->makers.count(impl.backend))
      throw std::logic_error("backend " + to_string(impl.backend) + " registered twice for method " + impl.id);
    target->makers[impl.backend] = std::move(impl.make);
  }
  implementations_.clear();
  for (const auto& m : methods_) {
    if (!family(m.family)) throw std::logic_error("method " + m.id + " declares an unknown family " + m.family);
    if (!m.traits.reference.empty()) {
      const MethodInfo* ref = nullptr;
      for (const auto& r : methods_)
        if (r.id == m.traits.reference) ref = &r;
      if (!ref || ref->family != m.family)
        throw std::logic_error("method " + m.id + " names reference '" + m.traits.reference +
                               "', which is not a method of " + m.family);
    }
  }
}

bool Registry::add_workload(WorkloadInfo info) {
  if (workload(info.family, info.id)) throw std::logic_error("workload registered twice: " + info.id);
  workloads_.push_back(std::move(info));
  return true;
}

bool Registry::add_model(ModelShape model) {
  if (this->model(model.id)) throw std::logic_error("model registered twice: " + model.id);
  models_.push_back(std::move(model));
  return true;
}

const TaskFamily* Registry::family(const std::string& id) const {
  for (const auto& f : families_)
    if (f->id() == id) return f.get();
  return nullptr;
}

const MethodInfo* Registry::method(const std::string& id) const {
  link();
  for (const auto& m : methods_)
    if (m.id == id) return &m;
  return nullptr;
}

const WorkloadInfo* Registry::workload(const std::string& family, const std::string& id) const {
  for (const auto& w : workloads_)
    if (w.family == family && w.id == id) return &w;
  return nullptr;
}

const ModelShape* Registry::model(const std::string& id) const {
  for (const auto& m : models_)
    if (m.id == id) return &m;
  return nullptr;
}

std::vector<const TaskFamily*> Registry::families() const {
  std::vector<const TaskFamily*> out;
  for (const auto& f : families_) out.push_back(f.get());
  return out;
}

std::vector<const MethodInfo*> Registry::methods(const std::string& family, bool include_hidden) const {
  link();
  std::vector<const MethodInfo*> out;
  for (const auto& m : methods_)
    if ((family.empty() || m.family == family) && (include_hidden || !m.hidden)) out.push_back(&m);
  return out;
}

std::vector<const WorkloadInfo*> Registry::workloads(const std::string& family) const {
  std::vector<const WorkloadInfo*> out;
  for (const auto& w : workloads_)
    if (family.empty() || w.family == family) out.push_back(&w);
  return out;
}

std::vector<const ModelShape*> Registry::models() const {
  std::vector<const ModelShape*> out;
  for (const auto& m : models_) out.push_back(&m);
  return out;
}

std::vector<std::string> Registry::model_ids() const {
  std::vector<std::string> ids;
  for (const auto& m : models_) ids.push_back(m.id);
  return ids;
}

}  // namespace lrb
