#include "workloads/model/tokenizer.hpp"

#include <algorithm>
#include <array>
#include <climits>
#include <stdexcept>

#include <fmt/format.h>

#include "workloads/model/gguf.hpp"
#include "workloads/model/unicode_tables.hpp"

namespace lrb::model {
namespace unicode {
namespace {
bool in(const CodeRange* table, std::size_t n, char32_t c) {
  const CodeRange* end = table + n;
  const CodeRange* it = std::upper_bound(table, end, c, [](char32_t v, const CodeRange& r) { return v < r.first; });
  return it != table && c <= (it - 1)->last;
}
}  // namespace
bool is_letter(char32_t c) { return in(kLetters, kLetters_size, c); }
bool is_number(char32_t c) { return in(kNumbers, kNumbers_size, c); }
bool is_white_space(char32_t c) {
  return (c >= 0x09 && c <= 0x0D) || c == 0x20 || c == 0x85 || c == 0xA0 || c == 0x1680 || (c >= 0x2000 && c <= 0x200A) ||
         c == 0x2028 || c == 0x2029 || c == 0x202F || c == 0x205F || c == 0x3000;
}
}  // namespace unicode

namespace {

void append_utf8(char32_t c, std::string& out) {
  if (c < 0x80) {
    out += static_cast<char>(c);
  } else if (c < 0x800) {
    out += static_cast<char>(0xC0 | (c >> 6));
    out += static_cast<char>(0x80 | (c & 0x3F));
  } else if (c < 0x10000) {
    out += static_cast<char>(0xE0 | (c >> 12));
    out += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (c & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (c >> 18));
    out += static_cast<char>(0x80 | ((c >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (c & 0x3F));
  }
}

// Strict UTF-8 (no overlongs, no surrogates): code points and the byte offset each begins at.
void decode_utf8(const std::string& s, std::vector<char32_t>& cps, std::vector<std::size_t>& at) {
  for (std::size_t i = 0; i < s.size();) {
    const auto b = static_cast<unsigned char>(s[i]);
    const int n = b < 0x80 ? 1 : (b >> 5) == 0x6 ? 2 : (b >> 4) == 0xE ? 3 : (b >> 3) == 0x1E ? 4 : 0;
    if (n == 0 || i + n > s.size()) throw std::runtime_error(fmt::format("text is not valid UTF-8 at byte {}", i));
    char32_t c = n == 1 ? b : b & (0x7F >> n);
    for (int k = 1; k < n; ++k) {
      const auto x = static_cast<unsigned char>(s[i + k]);
      if ((x & 0xC0) != 0x80) throw std::runtime_error(fmt::format("text is not valid UTF-8 at byte {}", i));
      c = (c << 6) | (x & 0x3F);
    }
    static constexpr char32_t kMin[] = {0, 0, 0x80, 0x800, 0x10000};
    if (c < kMin[n] || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF))
      throw std::runtime_error(fmt::format("text is not valid UTF-8 at byte {}", i));
    cps.push_back(c);
    at.push_back(i);
    i += n;
  }
  at.push_back(s.size());
}

// GPT-2's bytes_to_unicode: printable bytes stand for themselves, the others for code points from 256 on.
struct ByteMap {
  std::array<std::string, 256> to_text;
  std::array<int, 512> to_byte{};  // code point -> byte, -1 where none
  ByteMap() {
    to_byte.fill(-1);
    int extra = 0;
    for (int b = 0; b < 256; ++b) {
      const bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
      const char32_t c = printable ? static_cast<char32_t>(b) : static_cast<char32_t>(256 + extra++);
      append_utf8(c, to_text[b]);
      to_byte[c] = b;
    }
  }
};
const ByteMap& byte_map() {
  static const ByteMap m;
  return m;
}

// One match of GPT-2's split regex at i (leftmost-first alternation), within [i, end).
std::size_t match_gpt2(const std::vector<char32_t>& c, std::size_t i, std::size_t end) {
  using namespace unicode;
  if (c[i] == '\'' && i + 1 < end) {
    const char32_t a = c[i + 1];
    if (a == 's' || a == 't' || a == 'm' || a == 'd') return i + 2;
    if (i + 2 < end) {
      const char32_t b = c[i + 2];
      if ((a == 'r' && b == 'e') || (a == 'v' && b == 'e') || (a == 'l' && b == 'l')) return i + 3;
    }
  }
  const std::size_t s = c[i] == ' ' ? i + 1 : i;  // " ?": with the space where one is
  for (bool (*cls)(char32_t) : {+[](char32_t x) { return unicode::is_letter(x); },
                                +[](char32_t x) { return unicode::is_number(x); },
                                +[](char32_t x) {
                                  return !unicode::is_white_space(x) && !unicode::is_letter(x) &&
                                         !unicode::is_number(x);
                                }}) {
    if (s < end && cls(c[s])) {
      std::size_t j = s;
      while (j < end && cls(c[j])) ++j;
      return j;
    }
  }
  if (is_white_space(c[i])) {
    std::size_t j = i;
    while (j < end && is_white_space(c[j])) ++j;
    if (j == end) return j;         // \s+(?!\S) at the end
    if (j - i >= 2) return j - 1;   // \s+(?!\S): all but the last, which goes with what follows
    return j;                       // \s+
  }
  return i + 1;  // unreachable: every code point is a letter, a number, white space or other
}

}  // namespace

BpeTokenizer::BpeTokenizer(std::vector<std::string> tokens, const std::vector<std::string>& merges,
                           std::vector<int> token_types, std::string pre)
    : tokens_(std::move(tokens)), pre_(std::move(pre)) {
  if (pre_ != "smollm" && pre_ != "gpt2")
    throw std::runtime_error(fmt::format("tokenizer pre-tokenizer '{}' is not one lrbench implements (smollm, gpt2)",
                                         pre_));
  if (tokens_.empty() || tokens_.size() > INT_MAX) throw std::runtime_error("tokenizer: no tokens");
  for (std::size_t i = 0; i < tokens_.size(); ++i) ids_.emplace(tokens_[i], static_cast<int>(i));
  for (std::size_t r = 0; r < merges.size(); ++r) {
    if (merges[r].find(' ') == std::string::npos)
      throw std::runtime_error(fmt::format("tokenizer merge {} ('{}') is not two symbols", r, merges[r]));
    merge_rank_.emplace(merges[r], static_cast<int>(r));
  }
  for (std::size_t i = 0; i < token_types.size() && i < tokens_.size(); ++i)
    if (token_types[i] == 3 && !tokens_[i].empty()) control_.push_back(tokens_[i]);
  // Longest first, so a control token that begins another is matched as the longer one.
  std::sort(control_.begin(), control_.end(), [](const auto& a, const auto& b) { return a.size() > b.size(); });
}

namespace {
std::vector<std::string> strings_of(const GgufFile& g, const std::string& key) {
  std::vector<std::string> out;
  for (const auto& v : g.array_of(key)) {
    if (!v.is_string()) throw std::runtime_error(fmt::format("'{}': {} holds a non-string", g.name(), key));
    out.push_back(v.get<std::string>());
  }
  return out;
}
std::vector<int> types_of(const GgufFile& g) {
  std::vector<int> out;
  if (!g.metadata().contains("tokenizer.ggml.token_type")) return out;
  for (const auto& v : g.array_of("tokenizer.ggml.token_type"))
    out.push_back(v.is_number_integer() ? v.get<int>() : 0);
  return out;
}
}  // namespace

BpeTokenizer::BpeTokenizer(const GgufFile& g)
    : BpeTokenizer(
          [&] {
            if (g.string_of("tokenizer.ggml.model") != "gpt2")
              throw std::runtime_error(fmt::format("'{}': tokenizer.ggml.model '{}' is not a byte-level BPE (gpt2)",
                                                   g.name(), g.string_of("tokenizer.ggml.model")));
            return strings_of(g, "tokenizer.ggml.tokens");
          }(),
          strings_of(g, "tokenizer.ggml.merges"), types_of(g),
          g.metadata().contains("tokenizer.ggml.pre") ? g.string_of("tokenizer.ggml.pre") : "gpt2") {}

std::vector<std::string> BpeTokenizer::split(const std::string& text) const {
  std::vector<char32_t> c;
  std::vector<std::size_t> at;
  decode_utf8(text, c, at);
  std::vector<std::string> pieces;
  auto regex_pieces = [&](std::size_t b, std::size_t e) {
    for (std::size_t i = b; i < e;) {
      const std::size_t j = match_gpt2(c, i, e);
      pieces.push_back(text.substr(at[i], at[j] - at[i]));
      i = j;
    }
  };
  if (pre_ == "smollm") {  // every number character its own piece first (Digits, individual_digits)
    std::size_t b = 0;
    for (std::size_t i = 0; i < c.size(); ++i)
      if (unicode::is_number(c[i])) {
        regex_pieces(b, i);
        pieces.push_back(text.substr(at[i], at[i + 1] - at[i]));
        b = i + 1;
      }
    regex_pieces(b, c.size());
  } else {
    regex_pieces(0, c.size());
  }
  return pieces;
}

void BpeTokenizer::bpe(const std::string& piece, std::vector<int>& out) const {
  const ByteMap& m = byte_map();
  std::vector<std::string> sym;
  for (unsigned char b : piece) sym.push_back(m.to_text[b]);
  // GPT-2's loop: merge every occurrence of the lowest-ranked adjacent pair, left to right, until none is left.
  while (sym.size() > 1) {
    int best = INT_MAX;
    for (std::size_t i = 0; i + 1 < sym.size(); ++i) {
      const auto it = merge_rank_.find(sym[i] + " " + sym[i + 1]);
      if (it != merge_rank_.end() && it->second < best) best = it->second;
    }
    if (best == INT_MAX) break;
    std::vector<std::string> next;
    for (std::size_t i = 0; i < sym.size(); ++i) {
      if (i + 1 < sym.size()) {
        const auto it = merge_rank_.find(sym[i] + " " + sym[i + 1]);
        if (it != merge_rank_.end() && it->second == best) {
          next.push_back(sym[i] + sym[i + 1]);
          ++i;
          continue;
        }
      }
      next.push_back(sym[i]);
    }
    sym = std::move(next);
  }
  for (const auto& s : sym) {
    const auto it = ids_.find(s);
    if (it == ids_.end()) throw std::runtime_error(fmt::format("tokenizer: symbol '{}' is not in the vocabulary", s));
    out.push_back(it->second);
  }
}

std::vector<int> BpeTokenizer::encode(const std::string& text) const {
  std::vector<int> ids;
  std::size_t b = 0;
  while (b <= text.size()) {
    // The next control token in the text, if any: the text before it is split and merged, it is itself.
    std::size_t hit = std::string::npos;
    const std::string* which = nullptr;
    for (const auto& t : control_) {
      const std::size_t p = text.find(t, b);
      if (p != std::string::npos && (hit == std::string::npos || p < hit)) hit = p, which = &t;
    }
    const std::string part = text.substr(b, hit == std::string::npos ? std::string::npos : hit - b);
    for (const auto& piece : split(part)) bpe(piece, ids);
    if (!which) break;
    ids.push_back(ids_.at(*which));
    b = hit + which->size();
  }
  return ids;
}

std::string BpeTokenizer::decode(const std::vector<int>& ids) const {
  const ByteMap& m = byte_map();
  std::string out;
  for (int id : ids) {
    if (id < 0 || id >= vocab_size()) throw std::runtime_error(fmt::format("token id {} outside the vocabulary", id));
    const std::string& t = tokens_[static_cast<std::size_t>(id)];
    if (std::find(control_.begin(), control_.end(), t) != control_.end()) {
      out += t;
      continue;
    }
    std::vector<char32_t> c;
    std::vector<std::size_t> at;
    decode_utf8(t, c, at);
    for (char32_t x : c) {
      if (x < m.to_byte.size() && m.to_byte[x] >= 0) out += static_cast<char>(m.to_byte[x]);
      else append_utf8(x, out);
    }
  }
  return out;
}

}  // namespace lrb::model
