#include "proxy/lifeline.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <map>
#include <mutex>
#include <string>

#include "proxy/reaper.hpp"

namespace upfault::lifeline {

namespace fs = std::filesystem;

namespace {

// One message to the guardian, over a SOCK_SEQPACKET socket pair (message boundaries kept, and
// MSG_NOSIGNAL: a guardian that died never raises SIGPIPE in upfault).
struct Message {
  std::int32_t op;    // kWatch, kGroupGone, kForget
  std::int32_t pgid;  // the group's id when watched: the entry's key
  char dir[504];      // "" when the path does not fit: then only the group is stopped
};
constexpr std::int32_t kWatch = 1, kGroupGone = 2, kForget = 3;

constexpr int kSlots = 1024;

// The guardian runs in a child forked from a (possibly multi-threaded) upfault, so it uses only
// async-signal-safe calls: read, kill, fork, execve, waitpid, _exit.
// Sleeps `ms` milliseconds (nanosleep is async-signal-safe).
void nap(long ms) {
  timespec t{ms / 1000, (ms % 1000) * 1000000};
  ::nanosleep(&t, nullptr);
}

// True when the environment of process `pid` holds an entry that starts with `prefix`
// ("UPFAULT_LINEAGE_123=": the mark of a proxy of upfault 123, see reaper.hpp).
bool carries_prefix(const char* pid, const char* prefix) {
  char path[64] = "/proc/";
  std::size_t at = 6;
  for (const char* c = pid; *c && at < sizeof path - 9; ++c) path[at++] = *c;
  std::memcpy(path + at, "/environ", 9);
  const int fd = ::open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  char buf[4096];
  ssize_t n;
  std::size_t matched = 0;  // of prefix, at the start of the current entry; npos: this entry does not match
  bool found = false;
  while (!found && (n = ::read(fd, buf, sizeof buf)) > 0) {
    for (ssize_t i = 0; i < n && !found; ++i) {
      if (buf[i] == '\0') {
        matched = 0;
      } else if (matched != std::string::npos) {
        matched = buf[i] == prefix[matched] ? matched + 1 : std::string::npos;
        found = matched != std::string::npos && prefix[matched] == '\0';
      }
    }
  }
  ::close(fd);
  return found;
}

// Sends `sig` to every process whose environment carries the mark `prefix`: what upfault's
// proxies started outside their groups, now that the tree that led to upfault is gone. Returns
// how many there were. (getdents64, open, read: async-signal-safe, as the guardian must be.)
int signal_marked(const char* prefix, int sig) {
  const int dir = ::open("/proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir < 0) return 0;
  alignas(dirent64) static char buf[16384];
  int found = 0;
  ssize_t n;
  while ((n = ::getdents64(dir, buf, sizeof buf)) > 0) {
    for (ssize_t off = 0; off < n;) {
      const auto* d = reinterpret_cast<const dirent64*>(buf + off);
      off += d->d_reclen;
      pid_t pid = 0;
      const char* c = d->d_name;
      for (; *c >= '0' && *c <= '9'; ++c) pid = pid * 10 + (*c - '0');
      if (*c != '\0' || pid <= 1 || pid == ::getpid() || !carries_prefix(d->d_name, prefix)) continue;
      ::kill(pid, sig);
      ++found;
    }
  }
  ::close(dir);
  return found;
}

[[noreturn]] void guardian_main(int in, const char* mark) {
  static Message watched[kSlots];
  static bool alive[kSlots];
  int count = 0;
  Message m;
  while (true) {
    const ssize_t n = ::read(in, &m, sizeof m);
    if (n < 0 && errno == EINTR) continue;
    if (n != static_cast<ssize_t>(sizeof m)) break;  // EOF: upfault is gone (SEQPACKET: never a partial message)
    if (m.op == kWatch && count < kSlots) watched[count] = m, alive[count++] = true;
    for (int i = 0; i < count; ++i) {
      if (watched[i].pgid != m.pgid || m.op == kWatch) continue;
      if (m.op == kGroupGone) alive[i] = false;
      if (m.op == kForget) watched[i] = watched[--count], alive[i] = alive[count];
    }
  }
  bool any = signal_marked(mark, SIGTERM) > 0;
  for (int i = 0; i < count; ++i)
    if (alive[i]) any = true, ::kill(-watched[i].pgid, SIGTERM);
  for (int waited = 0; any && waited < 2000; waited += 50) {
    any = signal_marked(mark, 0) > 0;
    for (int i = 0; i < count; ++i)
      if (alive[i] && ::kill(-watched[i].pgid, 0) == 0) any = true;
    if (any) nap(50);
  }
  for (int i = 0; i < count; ++i)
    if (alive[i]) ::kill(-watched[i].pgid, SIGKILL);
  signal_marked(mark, SIGKILL);
  for (int i = 0; i < count; ++i) {
    if (watched[i].dir[0] == '\0') continue;
    const pid_t rm = ::fork();
    if (rm == 0) {
      char arg0[] = "rm", arg1[] = "-rf", arg2[] = "--";
      char* argv[] = {arg0, arg1, arg2, watched[i].dir, nullptr};
      char* envp[] = {nullptr};
      ::execve("/bin/rm", argv, envp);
      ::_exit(127);
    }
    int status = 0;
    if (rm > 0) ::waitpid(rm, &status, 0);
  }
  ::_exit(0);
}

class Registry {
 public:
  // Never destroyed: proxies may be stopped from static destructors that run after a function-
  // local static would be gone (a GoogleTest environment is deleted at exit).
  static Registry& get() {
    static auto* r = new Registry;
    return *r;
  }

  void watch(pid_t pgid, const fs::path& dir) {
    std::lock_guard lock(m_);
    groups_[pgid] = {dir, true};
    Message msg{kWatch, pgid, {}};
    const auto& s = dir.native();
    if (s.size() < sizeof msg.dir) std::memcpy(msg.dir, s.c_str(), s.size() + 1);
    send(msg);
  }

  void group_gone(pid_t pgid) {
    std::lock_guard lock(m_);
    if (auto it = groups_.find(pgid); it != groups_.end() && it->second.alive) {
      it->second.alive = false;
      send(Message{kGroupGone, pgid, {}});
    }
  }

  void forget(pid_t pgid) {
    std::lock_guard lock(m_);
    if (groups_.erase(pgid)) send(Message{kForget, pgid, {}});
  }

  void kill_all() {
    std::lock_guard lock(m_);
    for (const auto& [pgid, g] : groups_)
      if (g.alive) ::kill(-pgid, SIGKILL);
    signal_marked((reaper::mark_name() + "=").c_str(), SIGKILL);
    for (const auto& [pgid, g] : groups_) {
      std::error_code ec;
      if (!g.dir.empty()) fs::remove_all(g.dir, ec);
    }
    groups_.clear();
  }

 private:
  void send(const Message& msg) {
    if (link_ < 0) start_guardian();
    if (link_ < 0) return;
    [[maybe_unused]] auto n = ::send(link_, &msg, sizeof msg, MSG_NOSIGNAL);
  }

  void start_guardian() {
    // The mark of upfault's proxies (with upfault's pid), made before the fork: the guardian
    // allocates nothing.
    const std::string mark = reaper::mark_name() + "=";
    int fds[2];
    if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, fds) != 0) return;
    const pid_t pid = ::fork();
    if (pid < 0) {
      ::close(fds[0]), ::close(fds[1]);
      return;
    }
    if (pid == 0) {
      // Its own process group, so a signal to upfault's group (Ctrl-C) leaves it to do its job;
      // it ignores the stop signals and ends only when upfault's end of the pair closes.
      ::setpgid(0, 0);
      struct sigaction ign {};
      ign.sa_handler = SIG_IGN;
      for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGPIPE, SIGQUIT}) ::sigaction(sig, &ign, nullptr);
      sigset_t none;
      sigemptyset(&none);
      ::sigprocmask(SIG_SETMASK, &none, nullptr);
      // Nothing of upfault's stays open here: not its sockets, not upfault's end of the pair, and not
      // its stdout (a reader of upfault's output would otherwise wait for the guardian).
      const int null = ::open("/dev/null", O_RDWR);
      ::dup2(null, 0), ::dup2(null, 1), ::dup2(null, 2);
      ::dup2(fds[0], 3);
      ::close_range(4, ~0U, 0);
      guardian_main(3, mark.c_str());
    }
    ::close(fds[0]);
    link_ = fds[1];
  }

  std::mutex m_;
  struct Group {
    fs::path dir;
    bool alive = true;
  };
  std::map<pid_t, Group> groups_;
  int link_ = -1;  // upfault's end of the socket pair
};

}  // namespace

void watch(pid_t pgid, const fs::path& workdir) { Registry::get().watch(pgid, workdir); }
void group_gone(pid_t pgid) { Registry::get().group_gone(pgid); }
void forget(pid_t pgid) { Registry::get().forget(pgid); }
void kill_all() { Registry::get().kill_all(); }

}  // namespace upfault::lifeline
