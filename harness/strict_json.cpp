#include "harness/strict_json.hpp"

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <set>
#include <vector>

namespace lrb {
namespace {

// Position tracking over the text (1-based line and column, bytes).
struct Cursor {
  std::string_view text;
  std::size_t at = 0, line = 1, column = 1;
  bool done() const { return at >= text.size(); }
  char peek() const { return text[at]; }
  char next() {
    const char c = text[at++];
    if (c == '\n') {
      ++line;
      column = 1;
    } else {
      ++column;
    }
    return c;
  }
  JsonTextError error(const std::string& what) const { return {line, column, what}; }
};

void append_utf8(std::string& out, unsigned cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

unsigned hex4(std::string_view s) {
  unsigned v = 0;
  for (char c : s) {
    v <<= 4;
    if (c >= '0' && c <= '9') v |= static_cast<unsigned>(c - '0');
    else if (c >= 'a' && c <= 'f') v |= static_cast<unsigned>(c - 'a' + 10);
    else if (c >= 'A' && c <= 'F') v |= static_cast<unsigned>(c - 'A' + 10);
    else return 0xFFFFFFFFu;
  }
  return v;
}

// Reads a string starting at its opening quote; returns its decoded value (keys are compared decoded, so
// "a" and "\u0061" are the same key). Malformed escapes are left to nlohmann's parser to report.
std::string read_string(Cursor& c) {
  std::string out;
  c.next();  // opening quote
  while (!c.done()) {
    const char ch = c.next();
    if (ch == '"') return out;
    if (ch != '\\' || c.done()) {
      out += ch;
      continue;
    }
    const char e = c.next();
    switch (e) {
      case 'n': out += '\n'; break;
      case 't': out += '\t'; break;
      case 'r': out += '\r'; break;
      case 'b': out += '\b'; break;
      case 'f': out += '\f'; break;
      case 'u': {
        if (c.text.size() - c.at < 4) return out;
        unsigned cp = hex4(c.text.substr(c.at, 4));
        for (int i = 0; i < 4; ++i) c.next();
        if (cp >= 0xD800 && cp < 0xDC00 && c.text.size() - c.at >= 6 && c.text.substr(c.at, 2) == "\\u") {
          const unsigned lo = hex4(c.text.substr(c.at + 2, 4));
          if (lo >= 0xDC00 && lo < 0xE000) {
            for (int i = 0; i < 6; ++i) c.next();
            cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
          }
        }
        if (cp != 0xFFFFFFFFu) append_utf8(out, cp);
        break;
      }
      default: out += e;
    }
  }
  return out;
}

struct Container {
  bool object;
  bool expect_key;  // objects: the next string is a key
  std::set<std::string> keys;
};

}  // namespace

std::optional<JsonTextError> strict_json_problem(std::string_view text) {
  Cursor c{text};
  std::vector<Container> stack;
  while (!c.done()) {
    const char ch = c.peek();
    if (ch == '\0') return c.error("a NUL byte: JSON text cannot contain one (the rest would be ignored)");
    if (ch == '"') {
      const std::size_t line = c.line, column = c.column;
      const auto begin = c.at;
      std::string s = read_string(c);
      if (text.substr(begin, c.at - begin).find('\0') != std::string_view::npos)
        return JsonTextError(line, column, "a NUL byte inside a string");
      if (!stack.empty() && stack.back().object && stack.back().expect_key) {
        if (!stack.back().keys.insert(s).second)
          return JsonTextError(line, column, "duplicate key \"" + s + "\" in one object (each key may appear once)");
        stack.back().expect_key = false;
      }
      continue;
    }
    if (ch == '{' || ch == '[') {
      if (static_cast<int>(stack.size()) >= kMaxJsonDepth)
        return c.error("nested deeper than " + std::to_string(kMaxJsonDepth) + " levels");
      stack.push_back({ch == '{', ch == '{', {}});
    } else if (ch == '}' || ch == ']') {
      if (!stack.empty()) stack.pop_back();
    } else if (ch == ',') {
      if (!stack.empty() && stack.back().object) stack.back().expect_key = true;
    } else if (ch == '-' || (ch >= '0' && ch <= '9')) {
      const std::size_t line = c.line, column = c.column;
      const auto begin = c.at;
      while (!c.done() && std::string_view("+-.eE0123456789").find(c.peek()) != std::string_view::npos) c.next();
      const std::string number(text.substr(begin, c.at - begin));
      errno = 0;
      const double v = std::strtod(number.c_str(), nullptr);
      if (std::isinf(v) || (errno == ERANGE && v != 0.0))
        return JsonTextError(line, column, "the number " + number + " is outside the range of a double");
      continue;
    }
    c.next();
  }
  return std::nullopt;
}

Json parse_json_strict(std::string_view text) {
  if (auto problem = strict_json_problem(text)) throw *problem;
  try {
    return Json::parse(text.begin(), text.end());
  } catch (const nlohmann::json::parse_error& e) {
    // nlohmann reports a byte offset; translate it into line and column.
    Cursor c{text};
    const std::size_t stop = e.byte == 0 ? 0 : std::min<std::size_t>(e.byte - 1, text.size());
    while (c.at < stop) c.next();
    std::string what = e.what();
    const auto colon = what.find("error: ");
    throw JsonTextError(c.line, c.column, "not valid JSON: " + (colon == std::string::npos ? what : what.substr(colon + 7)));
  }
}

}  // namespace lrb
