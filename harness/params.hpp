#pragma once
// Typed, documented parameters: the one description used for family/workload parameters, generator
// parameters and method parameters. It drives validation (with JSON paths), defaults and `lrbench list`.
#include <optional>
#include <string>
#include <vector>

#include "harness/json.hpp"

namespace lrb {

enum class ParamType { integer, number, string, boolean, string_list };

std::string to_string(ParamType type);

struct ParamSpec {
  std::string name;
  ParamType type = ParamType::integer;
  Json default_value;               // null: required when the owner is used
  std::string help;
  std::optional<double> min;        // integer / number lower bound (inclusive)
  std::optional<double> max;        // integer / number upper bound (inclusive); integers: kMaxInteger if unset
  std::vector<std::string> choices; // string / string_list: allowed values (empty: any)
};

using ParamSpecs = std::vector<ParamSpec>;

// Integers without a stated maximum are capped here, so every integer parameter fits an int wherever the
// code narrows it (a silently truncated 2^32 + 2 once ran as 2).
inline constexpr double kMaxInteger = 2147483647.0;
// The largest integer a double (and so a JSON number) holds exactly: the cap of seeds.
inline constexpr double kMaxExactInteger = 9007199254740992.0;

// Returns an error message ("must be an integer >= 1") or nothing when `value` fits `spec`.
std::optional<std::string> check_param_value(const ParamSpec& spec, const Json& value);

const ParamSpec* find_param(const ParamSpecs& specs, const std::string& name);

// A resolved set of parameter values: every spec's name present (defaults filled in).
class Params {
 public:
  Params() = default;
  explicit Params(Json values) : values_(std::move(values)) {}

  bool has(const std::string& name) const { return values_.contains(name); }
  long long integer(const std::string& name) const;
  double number(const std::string& name) const;
  const std::string& string(const std::string& name) const;
  bool boolean(const std::string& name) const;
  std::vector<std::string> string_list(const std::string& name) const;
  const Json& json() const { return values_; }

 private:
  const Json& at(const std::string& name) const;
  Json values_ = Json::object();
};

// Fills defaults for every spec not present in `given`; keys of `given` not in `specs` are kept.
Json with_defaults(const ParamSpecs& specs, const Json& given);

}  // namespace lrb
