// Starting and stopping a proxy under test: readiness, early exits, whole-group teardown.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>

#include "proxy/procfs.hpp"
#include "proxy/reaper.hpp"
#include "proxy_support.hpp"
#include "upfault/proxy.hpp"

using namespace upfault;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {
ProxyProfile profile(std::vector<std::string> command, Millis ready = 500ms) {
  ProxyProfile p;
  p.name = "fake";
  p.command = std::move(command);
  p.ready_timeout = ready;
  return p;
}
bool group_exists(int pgid) { return ::kill(-pgid, 0) == 0; }
// Why `p` did not start `prof`; fails the test when it did.
std::string start_failure(ProxyProcess& p, const ProxyProfile& prof) {
  auto started = p.start(prof, {});
  EXPECT_FALSE(started) << "it started";
  return started ? "" : started.error().message;
}
}  // namespace

// A proxy that never listens is reported as never ready, within its ready_timeout, and killed.
TEST(ProxyProcess, NeverReadyIsReportedAndKilled) {
  ProxyProcess p;
  const auto error = start_failure(p, profile({"sleep", "30"}));
  EXPECT_NE(error.find("never became ready"), std::string::npos) << error;
  EXPECT_FALSE(p.alive());
}

// A proxy that exits during startup is reported with its exit status and output.
TEST(ProxyProcess, EarlyExitIsReportedWithItsOutput) {
  ProxyProcess p;
  const auto error = start_failure(p, profile({"sh", "-c", "echo cannot bind >&2; exit 3"}));
  EXPECT_NE(error.find("exited with status 3"), std::string::npos) << error;
  EXPECT_NE(error.find("cannot bind"), std::string::npos) << error;
}

// A profile whose error log is the proxy's own output (node-http-proxy's) shows that tail once.
TEST(ProxyProcess, OutputThatIsTheErrorLogIsShownOnce) {
  ProxyProcess p;
  auto prof = profile({"sh", "-c", "echo cannot bind >&2; exit 3"});
  prof.error_log = "{workdir}/proxy.out";
  const auto error = start_failure(p, prof);
  const auto first = error.find("cannot bind");
  ASSERT_NE(first, std::string::npos) << error;
  EXPECT_EQ(error.find("cannot bind", first + 1), std::string::npos) << error;
}

// A missing binary is a clear error.
TEST(ProxyProcess, MissingBinaryIsAnError) {
  ProxyProcess p;
  EXPECT_EQ(start_failure(p, profile({"/nonexistent/proxy"})),
            "cannot start /nonexistent/proxy: No such file or directory");
}

// stop() ends the whole process group, children included, even ones that ignore SIGTERM.
TEST(ProxyProcess, StopKillsTheWholeGroup) {
  ProxyProcess p;
  // Listens with a child that ignores SIGTERM (python3 ships on every Debian machine here).
  auto prof = profile({"python3", "-c",
                       "import os,signal,socket,time\n"
                       "if os.fork()==0:\n signal.signal(signal.SIGTERM, signal.SIG_IGN)\n time.sleep(60)\n"
                       "s=socket.socket(); s.bind(('127.0.0.1',{listen_port})); s.listen(); time.sleep(60)"},
                      5000ms);
  auto started = p.start(prof, {});
  ASSERT_TRUE(started) << started.error();
  const int pgid = p.pid();
  EXPECT_TRUE(group_exists(pgid));
  p.stop(200ms);
  for (int i = 0; i < 100 && group_exists(pgid); ++i) std::this_thread::sleep_for(10ms);
  EXPECT_FALSE(group_exists(pgid)) << "a process of the group survived stop()";
}

// stop() also ends what the proxy started outside its group (setsid, as Squid's pinger does), even
// when it ignores SIGTERM, and reaps it once it was re-parented to us: its pid is gone, not a zombie.
TEST(ProxyProcess, StopEndsAndReapsWhatLeftTheGroup) {
  ProxyProcess p;
  auto prof = profile({"python3", "-c",
                       "import os,signal,socket,time\n"
                       "r,w=os.pipe()\n"
                       "if os.fork()==0:\n os.setsid(); signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
                       " os.write(w, b'%d' % os.getpid()); time.sleep(60); os._exit(0)\n"
                       "print(os.read(r, 32).decode(), flush=True)\n"
                       "s=socket.socket(); s.bind(('127.0.0.1',{listen_port})); s.listen(); time.sleep(60)"},
                      5000ms);
  auto started = p.start(prof, {});
  ASSERT_TRUE(started) << started.error();
  int escaped = 0;
  std::ifstream(p.workdir() / "proxy.out") >> escaped;
  ASSERT_GT(escaped, 0) << "the proxy did not say which process left its group";
  ASSERT_NE(::getsid(escaped), ::getsid(p.pid())) << "the process did not leave the proxy's session";
  p.stop(200ms);
  EXPECT_FALSE(fs::exists(fmt::format("/proc/{}", escaped))) << "process " << escaped << " outlived stop()";
}

// Templates: known placeholders are filled, unknown ones are errors, other braces stay.
TEST(Template, FillsKnownAndRejectsUnknown) {
  EXPECT_EQ(render_template("listen {port}; http { x }", {{"port", "80"}}).value(), "listen 80; http { x }");
  auto unknown = render_template("{nope}", {});
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error().message, "unknown placeholder {nope}");
}

// The shipped profiles load.
TEST(Profiles, ShippedProfilesLoad) {
  auto dirs = default_profile_dirs();
  auto names = list_profiles(dirs);
  EXPECT_NE(std::find(names.begin(), names.end(), "nginx"), names.end());
  for (const auto& n : names) {
    auto p = find_profile(n, dirs);
    EXPECT_TRUE(p) << p.error();
  }
  auto typo = find_profile("ngnix", dirs);
  ASSERT_FALSE(typo);
  EXPECT_EQ(typo.error().message, "ngnix: error: no proxy profile named \"ngnix\"; did you mean \"nginx\"?");
}

namespace {
// A proxy that goes to the background once the readiness probe has connected: the leader forks a
// child that leaves its session and re-executes itself with an empty environment (as nginx's
// title overwrites its environment: upfault's lineage mark cannot be read), which keeps the
// listening socket (`keep_port`) or closes it and writes its pid to {workdir}/proxy.pid. Once the
// child says it is set, the leader prints the child's pid and exits 0.
ProxyProfile daemonizing(bool keep_port) {
  const std::string child =
      std::string("import os,sys,time; ") +
      (keep_port ? "" : "os.close(int(sys.argv[1])); open(sys.argv[2], 'w').write(str(os.getpid())); ") +
      "os.write(int(sys.argv[3]), b'1'); time.sleep(60)";
  return profile({"python3", "-c",
                  "import os,socket,sys\n"
                  "s=socket.socket(); s.bind(('127.0.0.1',{listen_port})); s.listen()\n"
                  "c,_=s.accept(); c.close()\n"
                  "r,w=os.pipe(); os.set_inheritable(s.fileno(), True); os.set_inheritable(w, True)\n"
                  "pid=os.fork()\n"
                  "if pid==0:\n os.setsid()\n"
                  " os.execve(sys.executable, [sys.executable, '-c', \"" +
                      child +
                      "\", str(s.fileno()), '{workdir}/proxy.pid', str(w)], {})\n"
                      "os.read(r, 1); print(pid, flush=True)"},
                 5000ms);
}
// Ends process `pid` if a test's check failed and left it running (it is the test's own child).
void end_leftover(int pid) {
  if (pid > 0 && ::kill(pid, SIGKILL) == 0) ::waitpid(pid, nullptr, 0);
}
}  // namespace

// A proxy whose leader exits 0 after it became ready, leaving its real process running in another
// session on the proxy's port: it is found by the port, stopped and reaped (its pid gone, the port
// free), and named with the fix.
TEST(ProxyProcess, LeftRunningOnItsPortInTheBackgroundIsStoppedAndNamed) {
  ProxyProcess p;
  auto started = p.start(daemonizing(true), {});
  ASSERT_TRUE(started) << started.error();
  ASSERT_TRUE(test::leader_exits(p));
  int left = 0;
  std::ifstream(p.workdir() / "proxy.out") >> left;
  ASSERT_GT(left, 0) << "the proxy did not say which process it left running";
  EXPECT_FALSE(fs::exists(fmt::format("/proc/{}", left))) << "process " << left << " was left running";
  EXPECT_FALSE(accepts_connections("127.0.0.1", p.port())) << "port " << p.port() << " still answers";
  EXPECT_EQ(p.background(), "your config runs python3 in the background: make it run in the foreground");
  EXPECT_EQ(p.exit_description(),
            fmt::format("exited with status 0 and left python3 running in the background (pid {}, stopped by upfault)",
                        left));
  end_leftover(left);
}

// The same with a process that no longer listens but left its pid in a pid file in the work dir.
TEST(ProxyProcess, LeftRunningInItsPidFileIsStoppedAndNamed) {
  ProxyProcess p;
  auto started = p.start(daemonizing(false), {});
  ASSERT_TRUE(started) << started.error();
  ASSERT_TRUE(test::leader_exits(p));
  int left = 0;
  std::ifstream(p.workdir() / "proxy.out") >> left;
  ASSERT_GT(left, 0) << "the proxy did not say which process it left running";
  EXPECT_FALSE(fs::exists(fmt::format("/proc/{}", left))) << "process " << left << " was left running";
  EXPECT_NE(p.background().find("in the background"), std::string::npos) << p.exit_description();
  end_leftover(left);
}

namespace {
// A profile whose leader detaches a listener on {listen_port} (double fork: re-parented to the
// test, the subreaper) with the environment `env` (a Python dict literal), which writes its pid to
// {workdir}/other.pid before it listens; the leader itself never listens.
ProxyProfile detached_listener(const std::string& env) {
  const std::string other =
      "import os,socket,sys,time; open(sys.argv[2] + '.tmp', 'w').write(str(os.getpid())); "
      "os.rename(sys.argv[2] + '.tmp', sys.argv[2]); s=socket.socket(); "
      "s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(('127.0.0.1', int(sys.argv[1]))); s.listen(); "
      "time.sleep(60)";
  return profile({"python3", "-c",
                  "import os,sys,time\n"
                  "if os.fork()==0:\n"
                  " if os.fork()==0: os.execve(sys.executable, [sys.executable, '-c', \"" +
                      other + "\", '{listen_port}', '{workdir}/other.pid'], " + env +
                      ")\n"
                      " os._exit(0)\n"
                      "time.sleep(60)"},
                 5000ms);
}
}  // namespace

// What accepts on the proxy's port is not the proxy (another process bound the port the proxy was
// given before the proxy did): never ready, rather than judged by what another process answers.
// Here the other process carries another proxy's mark (as a proxy upfault started beside this one
// does): no process of this proxy's.
TEST(ProxyProcess, SomeoneElseOnItsPortIsNotTheProxyBecomingReady) {
  ProxyProcess p;
  const auto error = start_failure(p, detached_listener("{'" + reaper::mark_name() + "': '/another/proxy'}"));
  int left = 0;
  std::ifstream(p.workdir() / "other.pid") >> left;
  end_leftover(left);
  ASSERT_GT(left, 0) << "the other process never listened: the test tests nothing";
  EXPECT_NE(error.find("never became ready"), std::string::npos) << error;
}

// The same listener without another proxy's mark (an empty environment, as a daemon nginx leaves
// after overwriting its own with its title) is the proxy's own process in the background: ready.
TEST(ProxyProcess, ItsOwnProcessInTheBackgroundOnItsPortIsReady) {
  ProxyProcess p;
  auto started = p.start(detached_listener("{}"), {});
  int left = 0;
  std::ifstream(p.workdir() / "other.pid") >> left;
  p.stop();
  end_leftover(left);
  ASSERT_GT(left, 0) << "the detached process never listened: the test tests nothing";
  EXPECT_TRUE(started) << started.error();
}

// A /proc file whose read fails is nothing, never an exception: a process reaped between the open
// and the read of its stat fails the read (ESRCH, which CI saw abort `upfault matrix` when the
// read went through a stream). /proc/self/mem fails its read at offset 0 (EIO) every time.
TEST(Procfs, AFileWhoseReadFailsIsNothing) {
  EXPECT_EQ(procfs::read(::getpid(), "mem"), std::nullopt);
  EXPECT_EQ(procfs::read(::getpid(), "no-such-file"), std::nullopt);
  const auto stat = procfs::read(::getpid(), "stat");
  ASSERT_TRUE(stat);
  EXPECT_TRUE(stat->starts_with(std::to_string(::getpid()) + " (")) << *stat;
}

// A process is named by its pid and its start time (field 22 of its stat, in clock ticks from
// boot), so that a pid reused by another process is never taken for the one seen before.
TEST(Procfs, StatNamesAProcessByItsStartTime) {
  const auto self = procfs::stat(::getpid());
  ASSERT_TRUE(self);
  EXPECT_EQ(self->ppid, ::getppid());
  EXPECT_EQ(self->state, 'R');
  EXPECT_GT(self->started, 0u) << "field 21 (itrealvalue, always 0) read for the start time?";
  // Started after this test: later, or in the same tick.
  const pid_t child = ::fork();
  if (child == 0) {
    ::pause();
    ::_exit(0);
  }
  const auto later = procfs::stat(child);
  ::kill(child, SIGKILL);
  ::waitpid(child, nullptr, 0);
  ASSERT_TRUE(later);
  EXPECT_EQ(later->ppid, ::getpid());
  EXPECT_GE(later->started, self->started);
  EXPECT_EQ(procfs::stat(child), std::nullopt) << "a reaped process still has a stat";
}
