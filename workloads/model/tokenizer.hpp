#pragma once
// A byte-level BPE tokenizer (GPT-2's scheme) built from a GGUF's vocabulary and merges, with the model's
// pre-tokenizer. For SmolLM2 ("smollm"): every digit is its own piece, then GPT-2's split regex
//   's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
// then each piece's bytes are mapped to GPT-2's printable characters and merged by rank.
// Control tokens (GGUF token type 3, e.g. <|endoftext|>) in the text are matched as themselves.
#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

namespace lrb::model {

class GgufFile;

class BpeTokenizer {
 public:
  // tokenizer.ggml.model must be "gpt2" and tokenizer.ggml.pre one of the pre-tokenizers below.
  explicit BpeTokenizer(const GgufFile& gguf);
  BpeTokenizer(std::vector<std::string> tokens, const std::vector<std::string>& merges, std::vector<int> token_types,
               std::string pre);

  // Text must be valid UTF-8 (an error names the byte offset otherwise).
  std::vector<int> encode(const std::string& text) const;
  std::string decode(const std::vector<int>& ids) const;
  // The pre-tokenizer's pieces (tests).
  std::vector<std::string> split(const std::string& text) const;
  int vocab_size() const { return static_cast<int>(tokens_.size()); }
  const std::string& pre() const { return pre_; }

 private:
  void bpe(const std::string& piece, std::vector<int>& out) const;
  std::vector<std::string> tokens_;  // in GPT-2's byte-mapped form
  std::unordered_map<std::string, int> ids_;
  std::unordered_map<std::string, int> merge_rank_;  // "left right" -> rank
  std::vector<std::string> control_;                 // control tokens matched literally in the text
  std::string pre_;
};

}  // namespace lrb::model
