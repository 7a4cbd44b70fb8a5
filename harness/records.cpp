#include "harness/records.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <stdexcept>

#include <fmt/format.h>

#include "harness/strict_json.hpp"

namespace lrb {

namespace {
std::string os_reason();
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
std::string os_reason() { return std::strerror(errno); }
}  // namespace

JsonlWriter::JsonlWriter(std::filesystem::path path) : path_(std::move(path)) {
  if (path_.has_parent_path()) {
    std::error_code ec;
    std::filesystem::create_directories(path_.parent_path(), ec);
    if (ec) throw std::runtime_error(fmt::format("cannot create '{}': {}", path_.parent_path().string(), ec.message()));
  }
  const int fd = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) throw std::runtime_error(fmt::format("cannot open '{}' for writing: {}", path_.string(), os_reason()));
  // One writer per results file: a second run with the same --out would append every record twice.
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    const std::string why = errno == EWOULDBLOCK ? "another lrbench process is writing it (its lock is held): wait for "
                                                   "that run to end or choose another --out"
                                                 : os_reason();
    ::close(fd);
    throw std::runtime_error(fmt::format("'{}': {}", path_.string(), why));
  }
  drop_partial_last_line(path_);  // under the lock: no other writer can be mid-line
  fd_ = fd;
}

JsonlWriter::~JsonlWriter() {
  if (fd_ >= 0) ::close(fd_);
}

void JsonlWriter::write(const Json& record) {
  const std::string line = record.dump(-1, ' ', false, Json::error_handler_t::replace) + "\n";
  // A write that fails part way (a full disk, a file size limit) is cut back to where the line began, so
  // the file never ends in half a record, whatever happens to this process next.
  const off_t start = ::lseek(fd_, 0, SEEK_END);
  auto fail = [&] {
    const std::string why = os_reason();
    if (start >= 0 && ::ftruncate(fd_, start) != 0) {
      // nothing more to do: the next writer's open drops a partial last line
    }
    throw std::runtime_error(fmt::format("cannot write to '{}': {}", path_.string(), why));
  };
  if (start < 0) fail();
  for (std::size_t done = 0; done < line.size();) {
    const ssize_t n = ::write(fd_, line.data() + done, line.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      if (n == 0) errno = EIO;
      fail();
    }
    done += static_cast<std::size_t>(n);
  }
  if (::fsync(fd_) != 0) fail();
}

std::vector<Json> read_jsonl(std::istream& in, const std::string& name, std::vector<std::string>* warnings) {
  std::vector<Json> out;
  std::string line;
  std::size_t number = 0;
  while (std::getline(in, line)) {
    ++number;
    if (line.empty()) continue;
    try {
      Json j = parse_json_strict(line);  // a line nested 70,000 deep would crash whatever reads it next
      if (!j.is_object()) throw std::runtime_error("not an object");
      out.push_back(std::move(j));
    } catch (const std::exception& e) {
      if (warnings) warnings->push_back(fmt::format("{}:{}: skipped a malformed line ({})", name, number, e.what()));
    }
  }
  return out;
}

bool write_jsonl_atomically(const std::filesystem::path& path, const std::vector<Json>& records) {
  const std::filesystem::path tmp = path.string() + fmt::format(".tmp{}", ::getpid());
  {
    std::ofstream f(tmp, std::ios::trunc);
    for (const auto& r : records) f << r.dump() << "\n";
    f.flush();
    if (!f) {
      std::error_code ec;
      std::filesystem::remove(tmp, ec);
      return false;
    }
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) std::filesystem::remove(tmp, ec);
  return !ec;
}

std::vector<Json> read_jsonl(const std::filesystem::path& path, std::vector<std::string>* warnings) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error(fmt::format("cannot read '{}'", path.string()));
  return read_jsonl(in, path.string(), warnings);
}

std::string record_key(const std::string& block, const std::string& point_id, const std::string& method_label) {
  return block + " | " + point_id + " | " + method_label;
}

std::string record_string(const Json& record, const char* key, const std::string& fallback) {
  if (!record.is_object()) return fallback;
  const auto it = record.find(key);
  return it != record.end() && it->is_string() ? it->get<std::string>() : fallback;
}

namespace {
const Json* json_at(const Json& j, std::initializer_list<const char*> path) {
  const Json* at = &j;
  for (const char* k : path) {
    if (!at->is_object()) return nullptr;
    const auto it = at->find(k);
    if (it == at->end()) return nullptr;
    at = &*it;
  }
  return at;
}
}  // namespace

double record_number_at(const Json& record, std::initializer_list<const char*> path, double fallback) {
  const Json* v = json_at(record, path);
  return v && v->is_number() ? v->get<double>() : fallback;
}

std::string record_string_at(const Json& record, std::initializer_list<const char*> path, const std::string& fallback) {
  const Json* v = json_at(record, path);
  return v && v->is_string() ? v->get<std::string>() : fallback;
}

std::string record_key(const Json& record) {
  return record_key(record_string(record, "block"), record_string(record, "point_id"),
                    record_string(record, "method_label"));
}

}  // namespace lrb
