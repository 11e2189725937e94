#include "lifeline.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <map>
#include <mutex>

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

[[noreturn]] void guardian_main(int in) {
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
  bool any = false;
  for (int i = 0; i < count; ++i)
    if (alive[i]) any = true, ::kill(-watched[i].pgid, SIGTERM);
  for (int waited = 0; any && waited < 2000; waited += 50) {
    any = false;
    for (int i = 0; i < count; ++i)
      if (alive[i] && ::kill(-watched[i].pgid, 0) == 0) any = true;
    if (any) nap(50);
  }
  for (int i = 0; i < count; ++i)
    if (alive[i]) ::kill(-watched[i].pgid, SIGKILL);
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
      guardian_main(3);
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
