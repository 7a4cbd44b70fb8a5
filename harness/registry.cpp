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

bool Registry::add_method(MethodInfo info) {
  if (method(info.id)) throw std::logic_error("method registered twice: " + info.id);
  for (auto& [family, id, backend, make] : pending_backends_)
    if (id == info.id) {
      if (family != info.family) throw std::logic_error("method " + id + " registered in two families");
      info.makers[backend] = std::move(make);
    }
  methods_.push_back(std::move(info));
  return true;
}

bool Registry::add_method_backend(const std::string& family, const std::string& id, Backend backend,
                                  MethodFactory make) {
  for (auto& m : methods_)
    if (m.id == id) {
      if (m.family != family) throw std::logic_error("method " + id + " registered in two families");
      if (m.makers.count(backend)) throw std::logic_error("backend registered twice for method " + id);
      m.makers[backend] = std::move(make);
      return true;
    }
  pending_backends_.emplace_back(family, id, backend, std::move(make));
  return true;
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

std::vector<const MethodInfo*> Registry::methods(const std::string& family) const {
  std::vector<const MethodInfo*> out;
  for (const auto& m : methods_)
    if (family.empty() || m.family == family) out.push_back(&m);
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
