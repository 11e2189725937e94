// Starting a child process (see spawn.hpp).
#include "proxy/spawn.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fmt/format.h>
#include <cerrno>
#include <cstdlib>
#include <cstring>

extern char** environ;

namespace upfault {

namespace fs = std::filesystem;

namespace {

// The program's path, searched on PATH as execvp would (done before fork: the child may only
// make async-signal-safe calls).
std::string resolve_program(const std::string& program) {
  if (program.find('/') != std::string::npos) return program;
  const char* path = std::getenv("PATH");
  std::string dirs = path && *path ? path : "/usr/local/bin:/usr/bin:/bin";
  std::size_t from = 0;
  while (from <= dirs.size()) {
    auto to = dirs.find(':', from);
    if (to == std::string::npos) to = dirs.size();
    auto candidate = (fs::path(dirs.substr(from, to - from)) / program).string();
    if (::access(candidate.c_str(), X_OK) == 0) return candidate;
    from = to + 1;
  }
  return "";
}

}  // namespace

Result<int> spawn(const std::vector<std::string>& argv, const fs::path& out,
                  const std::map<std::string, std::string>& env) {
  const std::string program = resolve_program(argv.at(0));
  if (program.empty()) {
    return problem(fmt::format("cannot start {}: {}", argv[0], std::strerror(ENOENT)));
  }
  std::vector<std::string> env_strings;
  for (char** e = environ; *e; ++e) {
    std::string_view kv(*e);
    if (!env.count(std::string(kv.substr(0, kv.find('='))))) env_strings.emplace_back(kv);
  }
  for (const auto& [k, v] : env) env_strings.push_back(k + "=" + v);
  std::vector<char*> args, envp;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  for (auto& e : env_strings) envp.push_back(e.data());
  envp.push_back(nullptr);
  // exec's failure travels back on a close-on-exec pipe: EOF means exec succeeded.
  int report[2];
  if (::pipe2(report, O_CLOEXEC) != 0) {
    return problem(fmt::format("cannot start {}: {}", argv[0], std::strerror(errno)));
  }
  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::setpgid(0, 0);
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(127);  // upfault died before prctl took effect
    struct sigaction dfl {};
    dfl.sa_handler = SIG_DFL;
    for (int sig = 1; sig < NSIG; ++sig) ::sigaction(sig, &dfl, nullptr);  // Asio ignores SIGPIPE
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    const int in = ::open("/dev/null", O_RDONLY);
    const int log = ::open(out.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    int err = 0;
    if (in < 0 || log < 0 || ::dup2(in, 0) < 0 || ::dup2(log, 1) < 0 || ::dup2(log, 2) < 0) err = errno;
    const int keep = report[1] > 2 ? report[1] : ::fcntl(report[1], F_DUPFD_CLOEXEC, 3);
    if (keep > 3) ::close_range(3, static_cast<unsigned>(keep) - 1, 0);
    ::close_range(static_cast<unsigned>(keep) + 1, ~0U, 0);
    if (err == 0) {
      ::execve(program.c_str(), args.data(), envp.data());
      err = errno;
    }
    [[maybe_unused]] auto n = ::write(keep, &err, sizeof err);
    ::_exit(127);
  }
  ::close(report[1]);
  if (pid < 0) {
    const int saved = errno;
    ::close(report[0]);
    return problem(fmt::format("cannot start {}: {}", argv[0], std::strerror(saved)));
  }
  int child_errno = 0;
  ssize_t n;
  while ((n = ::read(report[0], &child_errno, sizeof child_errno)) < 0 && errno == EINTR) {}
  ::close(report[0]);
  if (n == static_cast<ssize_t>(sizeof child_errno)) {
    int status = 0;
    ::waitpid(pid, &status, 0);
    return problem(fmt::format("cannot start {}: {}", argv[0], std::strerror(child_errno)));
  }
  return pid;
}

}  // namespace upfault
