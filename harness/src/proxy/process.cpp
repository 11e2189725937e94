// The proxy under test as a child process: its own process group, its own temp dir,
// bounded readiness, and teardown of the whole group.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fmt/format.h>
#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <thread>

#include "base/bounded_input.hpp"
#include "base/pattern.hpp"
#include "io/listeners.hpp"
#include "proxy/background.hpp"
#include "proxy/lifeline.hpp"
#include "proxy/reaper.hpp"
#include "proxy/spawn.hpp"
#include "tls/certs.hpp"
#include "upfault/interrupt.hpp"
#include "upfault/proxy.hpp"

namespace upfault {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace {

constexpr const char* kCaFile = "upfault-ca.pem";  // in the work dir: the profile's {ca_file}

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
  if (WIFSIGNALED(status))
    return fmt::format("killed by signal {} ({})", WTERMSIG(status), strsignal(WTERMSIG(status)));
  return "stopped";
}

}  // namespace

Result<fs::path> make_temp_dir(const std::string& prefix) {
  std::error_code ec;
  auto base = fs::temp_directory_path(ec);
  if (ec || !fs::is_directory(base, ec)) {
    const char* tmpdir = std::getenv("TMPDIR");
    return problem(
        fmt::format("no temporary directory: TMPDIR is \"{}\", which is not a directory; set TMPDIR to a "
                    "writable directory",
                    tmpdir ? tmpdir : ""));
  }
  std::string pattern = (base / (prefix + "XXXXXX")).string();
  if (!::mkdtemp(pattern.data()))
    return problem(fmt::format("cannot create a work dir in {}: {}", base.string(), std::strerror(errno)));
  return fs::path(pattern);
}

namespace {

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
  if (!fs::exists(here / "upfault-reference-proxy", ec) &&
      fs::exists(fs::path(UPFAULT_INSTALL_BINDIR) / "upfault-reference-proxy", ec))
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
  // Only now: until the dir is gone, an upfault that dies must still have it removed.
  if (watched_ > 0) lifeline::forget(watched_);
}

// What a profile's templates may use: {listen_port}, {upstream_port}, {read_timeout_s}, ...
std::map<std::string, std::string> ProxyProcess::template_vars(const ProxyProfile& profile, const Ports& ports) const {
  auto vars = route_vars(ports, profile.timeouts, (workdir_ / kCaFile).string());
  vars.insert({
      {"workdir", workdir_.string()},
      {"profile_dir", profile.dir.string()},
      {"bindir", tool_dir().string()},
      {"user", current_user()},
      {"unprivileged_user", geteuid() == 0 ? "nobody" : current_user()},
      {"listen_host", "127.0.0.1"},
      {"listen_port", std::to_string(port_)},
  });
  return vars;
}

namespace {
// How a proxy that exited while it started ended (and what to change, when it went to the
// background), with its log.
std::string died_starting(const ProxyProfile& profile, const ProxyProcess& p) {
  const auto fix = p.background().empty() ? "" : fmt::format("{}: {}\n", profile.name, p.background());
  return fmt::format("{}{} {} during startup\n{}", fix, profile.name, p.exit_description(), p.log_tail());
}
}  // namespace

// Whether what accepts on the proxy's port is the proxy: the port was free when picked, and another
// process (another proxy started beside this one) may have bound it before the proxy did. Then
// the proxy dies of "address in use" and is started on a new port, rather than judged by what
// another process answers. Another's: every process that holds the listening socket is another
// proxy's (it carries another proxy's mark) or not below upfault at all. A process below upfault
// that is not another proxy's is this one's (below its leader, or its daemon re-parented to
// upfault). Where no holder can be seen (the leader exiting as it goes to the background,
// another network namespace) it cannot tell, and says yes.
bool ProxyProcess::listens_itself() const {
  const auto holders = holders_of(listening_sockets("127.0.0.1", port_));
  if (holders.empty()) return true;
  const auto below = reaper::below_self();
  const auto others = reaper::other_proxies(workdir_.string());
  const auto has = [](const std::vector<int>& v, int pid) { return std::find(v.begin(), v.end(), pid) != v.end(); };
  return std::any_of(holders.begin(), holders.end(), [&](int h) { return has(below, h) && !has(others, h); });
}

// Waits until the proxy accepts on its port: ready; port_taken when it died because its port was
// taken, so that a new port may be tried; otherwise why it never became ready (it is stopped).
Result<ProxyProcess::Readiness> ProxyProcess::wait_ready(const ProxyProfile& profile) {
  const auto deadline = Clock::now() + profile.ready_timeout;
  while (Clock::now() < deadline) {
    if (!alive()) break;
    if (interrupt::received()) {
      stop();
      return problem(fmt::format("{}: interrupted while it started", profile.name));
    }
    // Each connect bounded: one that never completes (a listener that never accepts, its queue
    // full) is asked again. Once one does, whose listener took it.
    if (accepts_connections("127.0.0.1", port_, Millis{500}) && listens_itself()) return Readiness::ready;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  if (alive()) {
    auto why = problem(fmt::format("{} never became ready: nothing accepted on 127.0.0.1:{} within {}\n{}",
                                   profile.name, port_, format_millis(profile.ready_timeout), log_tail()));
    stop();  // after the log was read: what the proxy says as it is stopped is not why it was
    return why;
  }
  if (background_.empty() && log_tail().find("in use") != std::string::npos) return Readiness::port_taken;
  return problem(died_starting(profile, *this));
}

Result<void> ProxyProcess::start(const ProxyProfile& profile, const Ports& ports) {
  // Orphans of the proxy (a worker whose master died, a helper that called setsid) are
  // re-parented to us rather than to PID 1, which may not reap them; reap_group() stops them.
  reaper::become_subreaper();
  auto dir = make_temp_dir(fmt::format("upfault-{}-", profile.name));
  if (!dir) return dir.error();
  workdir_ = *dir;
  if (profile.shared_workdir) ::chmod(workdir_.c_str(), 01777);  // sticky, like /tmp
  // The proxy's own notion of home, config and cache dirs is its work dir: nothing it writes
  // (Caddy's autosave.json, say) lands in the user's home.
  std::error_code mk;
  fs::create_directories(workdir_ / "home", mk);
  const auto home = workdir_ / "home";
  const std::map<std::string, std::string> env = {{"HOME", home.string()},
                                                  {"XDG_CONFIG_HOME", (home / ".config").string()},
                                                  {"XDG_DATA_HOME", (home / ".local/share").string()},
                                                  {"XDG_CACHE_HOME", (home / ".cache").string()},
                                                  {"XDG_STATE_HOME", (home / ".local/state").string()},
                                                  {"TMPDIR", workdir_.string()},
                                                  {reaper::mark_name(), workdir_.string()}};

  // The CA the TLS endpoints' certificates come from, for the profile's {ca_file}.
  auto ca = tls::ca_pem();
  if (!ca) return ca.error();
  std::ofstream(workdir_ / kCaFile) << *ca;

  // A proxy that loses the race for its port exits at once: try again on a new one.
  for (int attempt = 0; attempt < 3; ++attempt) {
    port_ = pick_free_port();
    auto vars = template_vars(profile, ports);
    auto routes = render_routes(profile.routes, vars);  // before the templates that include them
    if (!routes) return routes.error().prefixed(profile.name + " profile: ");
    vars.merge(*routes);
    for (const auto& rel : profile.config_templates) {
      auto source = read_bounded(profile.dir / rel, 1 << 20);
      if (!source) return source.error().prefixed((profile.dir / rel).string() + ": ");
      auto text = render_template(*source, vars);
      if (!text) return text.error().prefixed((profile.dir / rel).string() + ": ");
      // An absolute path (one's own existing config) is rendered beside the others, by its name:
      // never written back over the original.
      const fs::path placed = rel.is_absolute() ? rel.filename() : rel;
      auto target = workdir_ / (placed.extension() == ".in" ? fs::path(placed).replace_extension() : placed);
      std::error_code ec;
      fs::create_directories(target.parent_path(), ec);
      std::ofstream(target) << *text;
    }
    std::vector<std::string> argv;
    for (const auto& a : profile.command) {
      auto r = render_template(a, vars);
      if (!r) return r.error().prefixed(profile.name + " profile command: ");
      argv.push_back(*r);
    }
    auto error_log = render_template(profile.error_log, vars);
    if (!error_log) return error_log.error().prefixed(profile.name + " profile error_log: ");
    error_log_ = *error_log;
    auto pid = spawn(argv, workdir_ / "proxy.out", env);
    if (!pid) return pid.error();
    pid_ = *pid;
    if (watched_ > 0) lifeline::forget(watched_);  // a previous attempt's group (same work dir)
    lifeline::watch(pid_, workdir_);
    watched_ = pid_;

    auto ready = wait_ready(profile);
    if (!ready) return ready.error();
    if (*ready == Readiness::ready) return {};
  }
  return problem(died_starting(profile, *this));
}

bool ProxyProcess::alive() {
  if (pid_ <= 0) return false;
  int status = 0;
  pid_t r = waitpid(pid_, &status, WNOHANG);
  if (r == pid_) {
    exit_ = describe_status(status);
    if (!stopping_ && WIFEXITED(status) && WEXITSTATUS(status) == 0) stop_background();
    reap_group();
    return false;
  }
  return r == 0;
}

bool ProxyProcess::dying() {
  if (!alive()) return true;
  if (!reaper::gone_or_exiting(pid_)) return false;
  const auto deadline = Clock::now() + std::chrono::seconds(5);
  while (Clock::now() < deadline) {
    if (!alive()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return false;
}

// The leader exited 0 on its own. A proxy that runs in the background (its config says so)
// leaves its real process running in a session of its own, which the group's stop misses: it is
// found (below upfault, on this proxy's port or in its pid file), stopped, and named.
void ProxyProcess::stop_background() {
  const auto strays = background::find(port_, workdir_, pid_);
  if (strays.empty()) return;
  for (const auto& s : strays) reaper::stop_tree(s.pid);
  exit_ = fmt::format("exited with status 0 and left {} running in the background (pid {}, stopped by upfault)",
                      strays.front().program, strays.front().pid);
  background_ = background::advice(strays.front().program);
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
  lifeline::group_gone(pid_);
  // What the proxy started outside its group (setsid): found by the mark in its environment, or
  // (a daemon whose environment reads as its title, as nginx's) by its port or pid file.
  for (const auto& s : background::find(port_, workdir_, pid_)) reaper::stop_tree(s.pid);
  pid_ = -1;
  reaper::stop_marked(workdir_.string());
}

void ProxyProcess::stop(Millis grace) {
  if (!alive()) return;  // a leader that exited on its own is told apart first (and reaped)
  stopping_ = true;
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

std::string ProxyProcess::ended(std::string_view name, std::string_view when) const {
  return fmt::format("{}{} {} {}\n{}", background_.empty() ? "" : fmt::format("{}: {}\n", name, background_), name,
                     exit_, when, log_tail());
}

std::string ProxyProcess::log_tail(std::size_t lines) const {
  std::string out;
  std::error_code ec;
  if (!error_log_.empty() && fs::exists(error_log_, ec)) {
    auto t = tail_lines(read_file(error_log_), lines);
    if (!t.empty()) out += fmt::format("--- {} (last lines)\n{}", error_log_.filename().string(), t);
  }
  // A profile may name the output itself as its error log: show it once.
  if (!error_log_.empty() && fs::equivalent(error_log_, workdir_ / "proxy.out", ec)) return out;
  auto t = tail_lines(read_file(workdir_ / "proxy.out"), lines);
  if (!t.empty()) out += fmt::format("{}--- output (last lines)\n{}", out.empty() || out.back() == '\n' ? "" : "\n", t);
  return out;
}

std::string proxy_version(const ProxyProfile& profile) {
  if (profile.version_command.empty()) return "";
  auto dir = make_temp_dir("upfault-version-");
  if (!dir) return "";
  const auto pattern = *dir / "out";
  std::vector<std::string> argv = profile.version_command;
  for (auto& a : argv)
    if (auto r = render_template(a, {{"bindir", tool_dir().string()}, {"profile_dir", profile.dir.string()}})) a = *r;
  const auto started = spawn(argv, pattern, {});
  const int pid = started ? *started : -1;
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
  std::error_code ec;
  fs::remove_all(*dir, ec);
  auto re = Pattern::compile(profile.version_regex);
  auto m = re ? re->search(text) : std::nullopt;
  return m && !m->empty() ? m->front() : "";
}

}  // namespace upfault
