#include "tests/support/cli.hpp"

#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <fstream>
#include <random>
#include <sstream>
#include <stdexcept>

namespace lrb::test {

CommandResult run_shell(const std::string& command) {
  CommandResult r;
  FILE* pipe = ::popen((command + " 2>&1").c_str(), "r");
  if (!pipe) throw std::runtime_error("popen failed");
  std::array<char, 4096> buf;
  std::size_t n;
  while ((n = std::fread(buf.data(), 1, buf.size(), pipe)) > 0) r.output.append(buf.data(), n);
  const int status = ::pclose(pipe);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

CommandResult run_lrbench(const std::string& args) { return run_shell(std::string(LRBENCH_BINARY) + " " + args); }

CommandResult run_lrbench_with_file_limit(int kib, const std::string& args) {
  // popen's shell is POSIX sh, whose `ulimit -f` counts 512-byte blocks.
  return run_shell("trap '' XFSZ; ulimit -f " + std::to_string(2 * kib) + "; " + std::string(LRBENCH_BINARY) + " " + args);
}

TempDir::TempDir() {
  std::random_device rd;
  path_ = std::filesystem::temp_directory_path() / ("lrbench-test-" + std::to_string(::getpid()) + "-" + std::to_string(rd()));
  std::filesystem::create_directories(path_);
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

std::string read_file(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::map<std::string, Json> records_by_method(const std::filesystem::path& jsonl) {
  std::ifstream in(jsonl);
  std::map<std::string, Json> by;
  for (std::string line; std::getline(in, line);) {
    Json j = Json::parse(line);
    const std::string point = j.value("point_id", std::string("default"));
    const std::string key = j.at("method_label").get<std::string>() + (point == "default" ? "" : "/" + point);
    by[key] = std::move(j);  // the key first: the right side of = is evaluated before the left (C++17)
  }
  return by;
}

void write_file(const std::filesystem::path& p, const std::string& text) {
  std::ofstream out(p, std::ios::binary);
  out << text;
}

std::filesystem::path source_dir() { return LRBENCH_SOURCE_DIR; }

}  // namespace lrb::test
