#pragma once
// Sweep expansion: axes as a cartesian product (in the order written), zip groups moving together,
// method parameters as per-method axes.
#include <optional>
#include <regex>
#include <string>
#include <vector>

#include "harness/config.hpp"
#include "harness/method.hpp"
#include "harness/task_family.hpp"

namespace lrb {

// One concrete method configuration: an id and all its parameters resolved.
struct MethodVariant {
  std::string id;
  Json params = Json::object();  // every parameter, defaults filled in
  std::string label;             // "int8_per_token" or "s2lc[basis_rank=16]" (given/swept params only)
};

std::vector<Point> expand_points(const RunBlock& block, const TaskFamily& family);
std::vector<MethodVariant> expand_methods(const RunBlock& block);

// "K=16,batch=1" style text of a JSON object's values (strings unquoted).
std::string describe_values(const Json& values);

// What --filter matches: "[<block>/]<method label>/<point id>" (the block's name first where it has one).
std::string filter_subject(const std::string& block, const std::string& method_label, const std::string& point_id);
// The --filter regex (ECMAScript), nothing for "", std::runtime_error naming it where it does not compile.
std::optional<std::regex> compile_filter(const std::string& text);

}  // namespace lrb
