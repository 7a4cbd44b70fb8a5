#include "harness/cli/device_workers.hpp"

#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <deque>
#include <fstream>
#include <ostream>
#include <stdexcept>

#include <fmt/format.h>

extern char** environ;

namespace lrb {
namespace {

constexpr std::size_t kTailLines = 20;

// The parent's environment with CUDA_VISIBLE_DEVICES replaced: the worker's CUDA runtime numbers its one GPU 0.
std::vector<std::string> worker_environment(const std::string& device) {
  std::vector<std::string> env;
  for (char** e = environ; *e; ++e)
    if (std::strncmp(*e, "CUDA_VISIBLE_DEVICES=", 21) != 0) env.emplace_back(*e);
  env.push_back("CUDA_VISIBLE_DEVICES=" + device);
  return env;
}

std::vector<char*> c_strings(std::vector<std::string>& v) {
  std::vector<char*> out;
  for (auto& s : v) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

struct Running {
  pid_t pid = -1;
  int fd = -1;          // read end of the worker's stdout + stderr
  std::string partial;  // bytes after the last newline
  std::ofstream log;
  std::deque<std::string> tail;
};

void take_line(Running& r, const std::string& device, const std::string& line, std::ostream& out, bool echo) {
  r.log << line << "\n" << std::flush;
  r.tail.push_back(line);
  if (r.tail.size() > kTailLines) r.tail.pop_front();
  if (echo) out << fmt::format("[dev {}] {}\n", device, line) << std::flush;
}

// Reads what is there; false at end of file (the worker closed its output: it has exited).
bool drain(Running& r, const std::string& device, std::ostream& out, bool echo) {
  char buf[4096];
  const ssize_t n = ::read(r.fd, buf, sizeof buf);
  if (n < 0 && (errno == EINTR || errno == EAGAIN)) return true;
  if (n <= 0) {
    if (!r.partial.empty()) take_line(r, device, r.partial, out, echo);
    r.partial.clear();
    return false;
  }
  r.partial.append(buf, static_cast<std::size_t>(n));
  for (std::size_t nl; (nl = r.partial.find('\n')) != std::string::npos;) {
    take_line(r, device, r.partial.substr(0, nl), out, echo);
    r.partial.erase(0, nl + 1);
  }
  return true;
}

pid_t spawn(const WorkerSpec& spec, int write_fd, int read_fd) {
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, write_fd, STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&actions, write_fd, STDERR_FILENO);
  posix_spawn_file_actions_addclose(&actions, read_fd);
  posix_spawn_file_actions_addclose(&actions, write_fd);
  std::vector<std::string> args = spec.argv;
  std::vector<std::string> env = worker_environment(spec.device);
  auto argv = c_strings(args);
  auto envp = c_strings(env);
  pid_t pid = -1;
  const int rc = ::posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) {
    errno = rc;
    return -1;
  }
  return pid;
}

WorkerResult wait_for(Running& r, const std::string& device) {
  WorkerResult res;
  res.device = device;
  int status = 0;
  while (::waitpid(r.pid, &status, 0) < 0) {
    if (errno != EINTR) return res;
  }
  if (WIFEXITED(status)) res.exit_code = WEXITSTATUS(status);
  if (WIFSIGNALED(status)) res.signal = WTERMSIG(status);
  for (const auto& l : r.tail) res.tail += l + "\n";
  return res;
}

}  // namespace

std::vector<WorkerResult> run_workers(const std::vector<WorkerSpec>& specs, std::ostream& out, bool echo) {
  std::vector<Running> running(specs.size());
  std::string start_error;
  for (std::size_t i = 0; i < specs.size() && start_error.empty(); ++i) {
    running[i].log.open(specs[i].log, std::ios::app);
    if (!running[i].log) {
      start_error = fmt::format("cannot write the worker log {}", specs[i].log.string());
      break;
    }
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) {
      start_error = fmt::format("pipe: {}", std::strerror(errno));
      break;
    }
    running[i].pid = spawn(specs[i], fds[1], fds[0]);
    ::close(fds[1]);
    if (running[i].pid < 0) {
      ::close(fds[0]);
      start_error = fmt::format("cannot start {}: {}", specs[i].argv[0], std::strerror(errno));
      break;
    }
    running[i].fd = fds[0];
  }
  // Echo every worker's lines until all have closed their output.
  for (;;) {
    std::vector<pollfd> fds;
    std::vector<std::size_t> which;
    for (std::size_t i = 0; i < running.size(); ++i)
      if (running[i].fd >= 0) {
        fds.push_back({running[i].fd, POLLIN, 0});
        which.push_back(i);
      }
    if (fds.empty()) break;
    if (::poll(fds.data(), fds.size(), -1) < 0) {
      if (errno == EINTR) continue;
      throw std::runtime_error(fmt::format("poll: {}", std::strerror(errno)));
    }
    for (std::size_t k = 0; k < fds.size(); ++k) {
      if (!(fds[k].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      Running& r = running[which[k]];
      if (!drain(r, specs[which[k]].device, out, echo)) {
        ::close(r.fd);
        r.fd = -1;
      }
    }
  }
  std::vector<WorkerResult> results;
  for (std::size_t i = 0; i < running.size(); ++i)
    if (running[i].pid > 0) results.push_back(wait_for(running[i], specs[i].device));
  if (!start_error.empty()) throw std::runtime_error(start_error);
  return results;
}

}  // namespace lrb
