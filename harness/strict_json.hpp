#pragma once
// JSON from outside (configs, records, adapter_config.json, safetensors headers) read strictly: nlohmann
// accepts text that lrbench must not, so this checks it first and names the line and column of the first
// problem:
// - a NUL byte (which would end a C string and silently drop the rest of the text);
// - nesting deeper than kMaxJsonDepth (a deep document crashes recursive code: dump, the config hash);
// - an object key given twice (nlohmann keeps the last one silently);
// - a number outside the range of a double (it would become infinity);
// then parses it with nlohmann.
#include <cstddef>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

#include "harness/json.hpp"

namespace lrb {

inline constexpr int kMaxJsonDepth = 64;

class JsonTextError : public std::runtime_error {
 public:
  JsonTextError(std::size_t line, std::size_t column, const std::string& what)
      : std::runtime_error("line " + std::to_string(line) + ", column " + std::to_string(column) + ": " + what),
        line_(line),
        column_(column) {}
  std::size_t line() const { return line_; }
  std::size_t column() const { return column_; }

 private:
  std::size_t line_, column_;
};

// The first problem of the list above in `text`, or nothing. Does not check the rest of the JSON syntax.
std::optional<JsonTextError> strict_json_problem(std::string_view text);

// strict_json_problem, then nlohmann's parse; every error is a JsonTextError with line and column.
Json parse_json_strict(std::string_view text);

}  // namespace lrb
