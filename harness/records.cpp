#include "harness/records.hpp"

#include <unistd.h>

#include <fstream>
#include <stdexcept>

#include <fmt/format.h>

namespace lrb {

namespace {
// Cuts a file back to its last newline (a record half-written when the process was killed).
void drop_partial_last_line(const std::filesystem::path& path) {
  std::error_code ec;
  const auto size = std::filesystem::file_size(path, ec);
  if (ec || size == 0) return;
  std::ifstream in(path, std::ios::binary);
  std::string content((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (content.back() == '\n') return;
  const auto last_newline = content.rfind('\n');
  std::filesystem::resize_file(path, last_newline == std::string::npos ? 0 : last_newline + 1);
}
}  // namespace

JsonlWriter::JsonlWriter(std::filesystem::path path) : path_(std::move(path)) {
  if (path_.has_parent_path()) std::filesystem::create_directories(path_.parent_path());
  if (std::filesystem::exists(path_)) drop_partial_last_line(path_);
  file_ = std::fopen(path_.c_str(), "ab");
  if (!file_) throw std::runtime_error(fmt::format("cannot open '{}' for writing", path_.string()));
}

JsonlWriter::~JsonlWriter() {
  if (file_) std::fclose(file_);
}

void JsonlWriter::write(const Json& record) {
  const std::string line = record.dump(-1, ' ', false, Json::error_handler_t::replace) + "\n";
  if (std::fwrite(line.data(), 1, line.size(), file_) != line.size() || std::fflush(file_) != 0)
    throw std::runtime_error(fmt::format("cannot write to '{}'", path_.string()));
  ::fsync(::fileno(file_));
}

std::vector<Json> read_jsonl(const std::filesystem::path& path, std::vector<std::string>* warnings) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error(fmt::format("cannot read '{}'", path.string()));
  std::vector<Json> out;
  std::string line;
  std::size_t number = 0;
  while (std::getline(in, line)) {
    ++number;
    if (line.empty()) continue;
    try {
      Json j = Json::parse(line);
      if (!j.is_object()) throw std::runtime_error("not an object");
      out.push_back(std::move(j));
    } catch (const std::exception& e) {
      if (warnings) warnings->push_back(fmt::format("{}:{}: skipped a malformed line ({})", path.string(), number, e.what()));
    }
  }
  return out;
}

std::string record_key(const std::string& block, const std::string& point_id, const std::string& method_label) {
  return block + " | " + point_id + " | " + method_label;
}

std::string record_key(const Json& record) {
  return record_key(record.value("block", std::string()), record.value("point_id", std::string()),
                    record.value("method_label", std::string()));
}

}  // namespace lrb
