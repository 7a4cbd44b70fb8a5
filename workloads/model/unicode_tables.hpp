#pragma once
// Unicode character classes for the tokenizer's pre-tokenizer: \p{L}, \p{N} (generated tables) and \s
// (the White_Space property, a short fixed list).
#include <cstddef>
#include <cstdint>

namespace lrb::model::unicode {

struct CodeRange {
  char32_t first, last;
};
extern const CodeRange kLetters[];
extern const std::size_t kLetters_size;
extern const CodeRange kNumbers[];
extern const std::size_t kNumbers_size;

bool is_letter(char32_t c);      // general category L*
bool is_number(char32_t c);      // general category N*
bool is_white_space(char32_t c);  // the White_Space property (Rust regex's \s, as Hugging Face tokenizers uses)

}  // namespace lrb::model::unicode
