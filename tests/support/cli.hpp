#pragma once
// Test helpers: run the lrbench binary, make temporary folders, read files.
#include <filesystem>
#include <map>
#include <string>

#include "harness/json.hpp"

namespace lrb::test {

struct CommandResult {
  int exit_code = -1;
  std::string output;  // stdout and stderr together
};

// Runs `args` (already shell-quoted where needed) with the lrbench binary under test.
CommandResult run_lrbench(const std::string& args);
// The same under a file size limit of `kib` KiB with SIGXFSZ ignored: every write past it fails with EFBIG,
// as writes to a full disk fail with ENOSPC (a full disk cannot be made without root).
CommandResult run_lrbench_with_file_limit(int kib, const std::string& args);
CommandResult run_shell(const std::string& command);

// A fresh, empty folder under the system temp dir, removed when the object dies.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path operator/(const std::string& name) const { return path_ / name; }

 private:
  std::filesystem::path path_;
};

std::string read_file(const std::filesystem::path& p);
void write_file(const std::filesystem::path& p, const std::string& text);
std::filesystem::path source_dir();
// The records of a results JSONL by method label (points without swept axes) or "label/point_id".
std::map<std::string, Json> records_by_method(const std::filesystem::path& jsonl);

}  // namespace lrb::test
