// The proxy under test as a child process: its own process group, its own temp dir,
// bounded readiness, and teardown of the whole group.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <spawn.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <chrono>
#include <cstring>
#include <fmt/format.h>
#include <fstream>
#include <sstream>
#include <thread>

#include "pattern.hpp"
#include "upfault/proxy.hpp"

extern char** environ;

namespace upfault {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace {

// At most the last `limit` bytes of a file: a proxy's log or a version command's output can be huge.
std::string read_file(const fs::path& p, std::size_t limit = 1 << 20) {
  std::ifstream in(p, std::ios::binary);
  if (!in) return "";
  in.seekg(0, std::ios::end);
  const auto size = static_cast<std::size_t>(std::max<std::streamoff>(0, in.tellg()));
  const std::size_t take = std::min(size, limit);
  in.seekg(static_cast<std::streamoff>(size - take));
  std::string out(take, '\0');
  in.read(out.data(), static_cast<std::streamsize>(take));
  out.resize(static_cast<std::size_t>(std::max<std::streamsize>(0, in.gcount())));
  return out;
}

std::string tail_lines(const std::string& text, std::size_t lines) {
  std::size_t pos = text.size();
  if (pos && text[pos - 1] == '\n') --pos;
  for (std::size_t n = 0; n < lines && pos != std::string::npos && pos > 0; ++n) pos = text.rfind('\n', pos - 1);
  return pos == std::string::npos || pos == 0 ? text : text.substr(pos + 1);
}

std::string describe_status(int status) {
  if (WIFEXITED(status)) return fmt::format("exited with status {}", WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return fmt::format("killed by signal {} ({})", WTERMSIG(status), strsignal(WTERMSIG(status)));
  return "stopped";
}

// Spawns argv in a new process group, stdin from /dev/null, stdout and stderr to `out`.
int spawn(const std::vector<std::string>& argv, const fs::path& out, std::string& error) {
  posix_spawn_file_actions_t fa;
  posix_spawnattr_t attr;
  posix_spawn_file_actions_init(&fa);
  posix_spawnattr_init(&attr);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 1, out.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
  posix_spawn_file_actions_adddup2(&fa, 1, 2);
  posix_spawnattr_setpgroup(&attr, 0);
  sigset_t none;
  sigemptyset(&none);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK);
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = -1;
  int rc = posix_spawnp(&pid, args[0], &fa, &attr, args.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&attr);
  if (rc != 0) {
    error = fmt::format("cannot start {}: {}", argv[0], std::strerror(rc));
    return -1;
  }
  return pid;
}

bool tcp_accepts(std::uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  ::close(fd);
  return ok;
}

std::string current_user() {
  if (auto* pw = getpwuid(geteuid())) return pw->pw_name;
  return "nobody";
}

}  // namespace

fs::path tool_dir() {
  if (const char* env = std::getenv("UPFAULT_BINDIR"); env && *env) return env;
  // Beside the running program (the CLI, or a test in the build tree); else where upfault is
  // installed (a user's test binary linking upfault::gtest).
  std::error_code ec;
  auto exe = fs::read_symlink("/proc/self/exe", ec);
  fs::path here = ec ? fs::current_path() : exe.parent_path();
#ifdef UPFAULT_INSTALL_BINDIR
  if (!fs::exists(here / "upfault-reference-proxy", ec) && fs::exists(fs::path(UPFAULT_INSTALL_BINDIR) / "upfault-reference-proxy", ec))
    return UPFAULT_INSTALL_BINDIR;
#endif
  return here;
}

std::uint16_t pick_free_port(const std::string& host) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = 0;
  inet_pton(AF_INET, host.c_str(), &a.sin_addr);
  socklen_t len = sizeof a;
  std::uint16_t port = 0;
  if (fd >= 0 && ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0)
    port = ntohs(a.sin_port);
  if (fd >= 0) ::close(fd);
  return port;
}

ProxyProcess::~ProxyProcess() {
  stop(Millis{2000});
  std::error_code ec;
  if (!workdir_.empty() && !std::getenv("UPFAULT_KEEP_WORKDIR")) fs::remove_all(workdir_, ec);
}

bool ProxyProcess::start(const ProxyProfile& profile, const Ports& ports, std::string& error) {
  // Orphans of the proxy (a worker whose master died) are re-parented to us rather than to
  // PID 1, which may not reap them; stop() then reaps the whole group.
  ::prctl(PR_SET_CHILD_SUBREAPER, 1);
  std::string pattern = (fs::temp_directory_path() / fmt::format("upfault-{}-XXXXXX", profile.name)).string();
  if (!mkdtemp(pattern.data())) {
    error = fmt::format("cannot create a work dir: {}", std::strerror(errno));
    return false;
  }
  workdir_ = pattern;
  if (profile.shared_workdir) ::chmod(workdir_.c_str(), 01777);  // sticky, like /tmp

  // A proxy that loses the race for its port exits at once: try again on a new one.
  for (int attempt = 0; attempt < 3; ++attempt) {
    port_ = pick_free_port();
    const auto& t = profile.timeouts;
    auto secs = [](Millis ms) { return std::to_string((ms.count() + 999) / 1000); };
    std::map<std::string, std::string> vars = {
        {"workdir", workdir_.string()},
        {"profile_dir", profile.dir.string()},
        {"bindir", tool_dir().string()},
        {"user", current_user()},
        {"unprivileged_user", geteuid() == 0 ? "nobody" : current_user()},
        {"listen_host", "127.0.0.1"},
        {"listen_port", std::to_string(port_)},
        {"upstream_host", "127.0.0.1"},
        {"upstream_port", std::to_string(ports.scripted)},
        {"refused_port", std::to_string(ports.refused)},
        {"blackhole_port", std::to_string(ports.blackhole)},
        {"accept_close_port", std::to_string(ports.accept_close)},
        {"accept_reset_port", std::to_string(ports.accept_reset)},
        {"read_timeout_ms", std::to_string(t.read.count())},
        {"read_timeout_s", secs(t.read)},
        {"connect_timeout_ms", std::to_string(t.connect.count())},
        {"connect_timeout_s", secs(t.connect)},
    };
    for (const auto& rel : profile.config_templates) {
      auto text = render_template(read_file(profile.dir / rel), vars, error);
      if (!text) {
        error = fmt::format("{}: {}", (profile.dir / rel).string(), error);
        return false;
      }
      auto target = workdir_ / (rel.extension() == ".in" ? fs::path(rel).replace_extension() : rel);
      std::error_code ec;
      fs::create_directories(target.parent_path(), ec);
      std::ofstream(target) << *text;
    }
    std::vector<std::string> argv;
    for (const auto& a : profile.command) {
      auto r = render_template(a, vars, error);
      if (!r) {
        error = fmt::format("{} profile command: {}", profile.name, error);
        return false;
      }
      argv.push_back(*r);
    }
    error_log_ = profile.error_log.empty() ? fs::path{} : fs::path(*render_template(profile.error_log, vars, error));
    pid_ = spawn(argv, workdir_ / "proxy.out", error);
    if (pid_ < 0) return false;

    const auto deadline = Clock::now() + profile.ready_timeout;
    while (Clock::now() < deadline) {
      if (!alive()) break;
      if (tcp_accepts(port_)) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    if (alive()) {
      error = fmt::format("{} never became ready: nothing accepted on 127.0.0.1:{} within {}\n{}", profile.name,
                          port_, format_millis(profile.ready_timeout), log_tail());
      stop();
      return false;
    }
    error = fmt::format("{} {} during startup\n{}", profile.name, exit_, log_tail());
    if (log_tail().find("in use") == std::string::npos) return false;
  }
  return false;
}

bool ProxyProcess::alive() {
  if (pid_ <= 0) return false;
  int status = 0;
  pid_t r = waitpid(pid_, &status, WNOHANG);
  if (r == pid_) {
    exit_ = describe_status(status);
    reap_group();
    return false;
  }
  return r == 0;
}

void ProxyProcess::reap_group() {
  // Whatever the leader left behind in its group is killed and, once re-parented to us, reaped.
  ::kill(-pid_, SIGKILL);
  const auto deadline = Clock::now() + std::chrono::seconds(2);
  while (Clock::now() < deadline) {
    int status = 0;
    pid_t r = waitpid(-pid_, &status, WNOHANG);
    if (r < 0) break;  // ECHILD: none of the group is our child any more
    if (r == 0) {
      if (::kill(-pid_, 0) != 0) break;  // the group is gone
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
  }
  pid_ = -1;
}

void ProxyProcess::stop(Millis grace) {
  if (pid_ <= 0) return;
  ::kill(-pid_, SIGTERM);
  const auto deadline = Clock::now() + grace;
  while (alive() && Clock::now() < deadline) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  if (pid_ > 0) {
    ::kill(-pid_, SIGKILL);
    int status = 0;
    waitpid(pid_, &status, 0);
    exit_ = describe_status(status);
    reap_group();
  }
}

std::string ProxyProcess::log_tail(std::size_t lines) const {
  std::string out;
  std::error_code ec;
  if (!error_log_.empty() && fs::exists(error_log_, ec)) {
    auto t = tail_lines(read_file(error_log_), lines);
    if (!t.empty()) out += fmt::format("--- {} (last lines)\n{}", error_log_.filename().string(), t);
  }
  auto t = tail_lines(read_file(workdir_ / "proxy.out"), lines);
  if (!t.empty()) out += fmt::format("{}--- output (last lines)\n{}", out.empty() || out.back() == '\n' ? "" : "\n", t);
  return out;
}

std::string proxy_version(const ProxyProfile& profile) {
  if (profile.version_command.empty()) return "";
  std::string pattern = (fs::temp_directory_path() / "upfault-version-XXXXXX").string();
  int fd = mkstemp(pattern.data());
  if (fd < 0) return "";
  ::close(fd);
  std::string error;
  std::vector<std::string> argv = profile.version_command;
  for (auto& a : argv) a = render_template(a, {{"bindir", tool_dir().string()}, {"profile_dir", profile.dir.string()}}, error).value_or(a);
  int pid = spawn(argv, pattern, error);
  std::string text;
  if (pid > 0) {
    int status = 0;
    const auto deadline = Clock::now() + std::chrono::seconds(5);
    while (waitpid(pid, &status, WNOHANG) == 0) {
      if (Clock::now() > deadline) {
        ::kill(-pid, SIGKILL);
        waitpid(pid, &status, 0);
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    text = read_file(pattern);
  }
  fs::remove(pattern);
  auto re = Pattern::compile(profile.version_regex, error);
  auto m = re ? re->search(text) : std::nullopt;
  return m && !m->empty() ? m->front() : "";
}

}  // namespace upfault
