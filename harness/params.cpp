#include "harness/params.hpp"

#include <cmath>
#include <stdexcept>

#include <fmt/format.h>

namespace lrb {

std::string to_string(ParamType type) {
  switch (type) {
    case ParamType::integer: return "integer";
    case ParamType::number: return "number";
    case ParamType::string: return "string";
    case ParamType::boolean: return "boolean";
    case ParamType::string_list: return "list of strings";
  }
  return "?";
}

namespace {

std::optional<double> max_of(const ParamSpec& spec) {
  if (spec.max) return spec.max;
  if (spec.type == ParamType::integer) return kMaxInteger;
  return std::nullopt;
}

std::string bound_text(const ParamSpec& spec) {
  auto fmt_num = [](double v) {
    return v == std::floor(v) ? fmt::format("{}", static_cast<long long>(v)) : fmt::format("{}", v);
  };
  const auto max = max_of(spec);
  if (spec.min && max) return fmt::format(" in [{}, {}]", fmt_num(*spec.min), fmt_num(*max));
  if (spec.min) return fmt::format(" >= {}", fmt_num(*spec.min));
  if (max) return fmt::format(" <= {}", fmt_num(*max));
  return "";
}

std::optional<std::string> check_choice(const ParamSpec& spec, const std::string& s) {
  if (spec.choices.empty()) return std::nullopt;
  for (const auto& c : spec.choices)
    if (c == s) return std::nullopt;
  return fmt::format("'{}' is not one of: {}", s, fmt::join(spec.choices, ", "));
}

}  // namespace

std::optional<std::string> check_param_value(const ParamSpec& spec, const Json& value) {
  switch (spec.type) {
    case ParamType::integer:
    case ParamType::number: {
      const bool type_ok = spec.type == ParamType::integer ? value.is_number_integer() : value.is_number();
      if (!type_ok || (value.is_number_float() && !std::isfinite(value.get<double>())))
        return fmt::format("must be {}{}", spec.type == ParamType::integer ? "an integer" : "a number",
                           bound_text(spec));
      const double v = value.get<double>();
      const auto max = max_of(spec);
      if ((spec.min && v < *spec.min) || (max && v > *max))
        return fmt::format("must be {}{} (got {})", spec.type == ParamType::integer ? "an integer" : "a number",
                           bound_text(spec), value.dump());
      return std::nullopt;
    }
    case ParamType::string:
      if (!value.is_string()) return std::string("must be a string");
      return check_choice(spec, value.get<std::string>());
    case ParamType::boolean:
      if (!value.is_boolean()) return std::string("must be true or false");
      return std::nullopt;
    case ParamType::string_list:
      if (!value.is_array() || value.empty()) return std::string("must be a non-empty list of strings");
      for (const auto& e : value) {
        if (!e.is_string()) return std::string("must be a non-empty list of strings");
        if (auto err = check_choice(spec, e.get<std::string>())) return err;
      }
      return std::nullopt;
  }
  return std::nullopt;
}

const ParamSpec* find_param(const ParamSpecs& specs, const std::string& name) {
  for (const auto& s : specs)
    if (s.name == name) return &s;
  return nullptr;
}

const Json& Params::at(const std::string& name) const {
  auto it = values_.find(name);
  if (it == values_.end()) throw std::out_of_range("parameter '" + name + "' is not set");
  return *it;
}

long long Params::integer(const std::string& name) const { return at(name).get<long long>(); }
double Params::number(const std::string& name) const { return at(name).get<double>(); }
const std::string& Params::string(const std::string& name) const { return at(name).get_ref<const std::string&>(); }
bool Params::boolean(const std::string& name) const { return at(name).get<bool>(); }
std::vector<std::string> Params::string_list(const std::string& name) const {
  return at(name).get<std::vector<std::string>>();
}

Json with_defaults(const ParamSpecs& specs, const Json& given) {
  Json out = Json::object();
  for (const auto& s : specs) {
    auto it = given.find(s.name);
    out[s.name] = it != given.end() ? *it : s.default_value;
  }
  for (auto it = given.begin(); it != given.end(); ++it)
    if (!out.contains(it.key())) out[it.key()] = it.value();
  return out;
}

}  // namespace lrb
