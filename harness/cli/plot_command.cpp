#include "harness/cli/plot_command.hpp"

#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <iostream>

#include <fmt/format.h>

#ifndef LRBENCH_SOURCE_DIR
#define LRBENCH_SOURCE_DIR "."
#endif

namespace lrb {
namespace {

// The interpreter: $LRBENCH_PYTHON, else Debian's /usr/bin/python3 (where scripts/setup installs
// python3-matplotlib; a pyenv or venv python3 earlier on PATH often lacks it), else python3 on PATH.
std::string python() {
  if (const char* p = std::getenv("LRBENCH_PYTHON"); p && *p) return p;
  if (::access("/usr/bin/python3", X_OK) == 0) return "/usr/bin/python3";
  return "python3";
}

}  // namespace

int plot_command(const PlotArgs& a) {
  const std::filesystem::path script = std::filesystem::path(LRBENCH_SOURCE_DIR) / "analysis" / "plot.py";
  if (!std::filesystem::exists(script)) {
    std::cerr << fmt::format("lrbench plot: {} not found (the source tree this lrbench was built from)\n",
                             script.string());
    return 2;
  }
  std::vector<std::string> args = {python(), script.string()};
  args.insert(args.end(), a.inputs.begin(), a.inputs.end());
  args.insert(args.end(), {"--out", a.out});
  if (!a.point.empty()) args.insert(args.end(), {"--point", a.point});
  std::vector<char*> argv;
  for (auto& s : args) argv.push_back(s.data());
  argv.push_back(nullptr);
  const pid_t pid = ::fork();
  if (pid < 0) {
    std::cerr << "lrbench plot: fork failed\n";
    return 2;
  }
  if (pid == 0) {
    ::execvp(argv[0], argv.data());
    std::cerr << fmt::format("lrbench plot: cannot run {} (Python 3 with matplotlib: scripts/setup installs it; "
                             "LRBENCH_PYTHON names another)\n",
                             argv[0]);
    ::_exit(2);
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : 2;
}

}  // namespace lrb
