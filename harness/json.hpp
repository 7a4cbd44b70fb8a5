#pragma once
// One JSON type for configs, points and records. ordered_json keeps the user's key order, so axes
// expand in the order they were written and records list fields in schema order.
#include <nlohmann/json.hpp>

namespace lrb {
using Json = nlohmann::ordered_json;
}  // namespace lrb
