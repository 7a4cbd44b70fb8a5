#pragma once
// JSONL record files: one JSON object per line, appended and flushed as each record completes, so a
// kill loses at most the record being measured.
#include <filesystem>
#include <initializer_list>
#include <istream>
#include <set>
#include <string>
#include <vector>

#include "harness/json.hpp"

namespace lrb {

inline constexpr int kSchemaVersion = 1;

class JsonlWriter {
 public:
  // Opens for append. A trailing partial line (a write cut by a kill) is cut off first.
  explicit JsonlWriter(std::filesystem::path path);
  ~JsonlWriter();
  JsonlWriter(const JsonlWriter&) = delete;
  JsonlWriter& operator=(const JsonlWriter&) = delete;

  void write(const Json& record);  // one line, flushed and synced to disk
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
  int fd_ = -1;  // opened for append, flock'ed for the writer's life
};

// Writes `records` as a whole new file through a temporary beside it renamed into place, so a kill leaves the old
// state (merged files: `lrbench merge`, `lrbench run --devices`). False where it could not be written.
bool write_jsonl_atomically(const std::filesystem::path& path, const std::vector<Json>& records);

// Reads every complete JSON line; malformed lines are reported in `warnings` and skipped.
std::vector<Json> read_jsonl(const std::filesystem::path& path, std::vector<std::string>* warnings = nullptr);
// The same from a stream (`name` in the warnings): what read_jsonl(path) does after opening the file.
std::vector<Json> read_jsonl(std::istream& in, const std::string& name, std::vector<std::string>* warnings = nullptr);

// A record's string field, or `fallback` where it is missing or not a string (records are outside input:
// nlohmann's value() would throw its own type_error on a wrong type).
std::string record_string(const Json& record, const char* key, const std::string& fallback = "");
// The number or string at a path of keys ({"time", "median"}), or `fallback` where any step is missing or the
// value has another type.
double record_number_at(const Json& record, std::initializer_list<const char*> path, double fallback);
std::string record_string_at(const Json& record, std::initializer_list<const char*> path, const std::string& fallback);

// Identity of a (block, point, method variant) inside one config: what --resume matches on.
std::string record_key(const std::string& block, const std::string& point_id, const std::string& method_label);
std::string record_key(const Json& record);

}  // namespace lrb
