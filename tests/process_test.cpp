// Starting and stopping a proxy under test: readiness, early exits, whole-group teardown.
#include <gtest/gtest.h>
#include <signal.h>

#include <fstream>

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
}  // namespace

// A proxy that never listens is reported as never ready, within its ready_timeout, and killed.
TEST(ProxyProcess, NeverReadyIsReportedAndKilled) {
  ProxyProcess p;
  std::string error;
  EXPECT_FALSE(p.start(profile({"sleep", "30"}), {}, error));
  EXPECT_NE(error.find("never became ready"), std::string::npos) << error;
  EXPECT_FALSE(p.alive());
}

// A proxy that exits during startup is reported with its exit status and output.
TEST(ProxyProcess, EarlyExitIsReportedWithItsOutput) {
  ProxyProcess p;
  std::string error;
  EXPECT_FALSE(p.start(profile({"sh", "-c", "echo cannot bind >&2; exit 3"}), {}, error));
  EXPECT_NE(error.find("exited with status 3"), std::string::npos) << error;
  EXPECT_NE(error.find("cannot bind"), std::string::npos) << error;
}

// A missing binary is a clear error.
TEST(ProxyProcess, MissingBinaryIsAnError) {
  ProxyProcess p;
  std::string error;
  EXPECT_FALSE(p.start(profile({"/nonexistent/proxy"}), {}, error));
  EXPECT_FALSE(error.empty());
}

// stop() ends the whole process group, children included, even ones that ignore SIGTERM.
TEST(ProxyProcess, StopKillsTheWholeGroup) {
  ProxyProcess p;
  std::string error;
  // Listens with a child that ignores SIGTERM (python3 ships on every Debian machine here).
  auto prof = profile({"python3", "-c",
                       "import os,signal,socket,time\n"
                       "if os.fork()==0:\n signal.signal(signal.SIGTERM, signal.SIG_IGN)\n time.sleep(60)\n"
                       "s=socket.socket(); s.bind(('127.0.0.1',{listen_port})); s.listen(); time.sleep(60)"},
                      5000ms);
  ASSERT_TRUE(p.start(prof, {}, error)) << error;
  const int pgid = p.pid();
  EXPECT_TRUE(group_exists(pgid));
  p.stop(200ms);
  for (int i = 0; i < 100 && group_exists(pgid); ++i) std::this_thread::sleep_for(10ms);
  EXPECT_FALSE(group_exists(pgid)) << "a process of the group survived stop()";
}

// Templates: known placeholders are filled, unknown ones are errors, other braces stay.
TEST(Template, FillsKnownAndRejectsUnknown) {
  std::string error;
  EXPECT_EQ(render_template("listen {port}; http { x }", {{"port", "80"}}, error).value(), "listen 80; http { x }");
  EXPECT_FALSE(render_template("{nope}", {}, error));
  EXPECT_EQ(error, "unknown placeholder {nope}");
}

// The shipped profiles load.
TEST(Profiles, ShippedProfilesLoad) {
  auto dirs = default_profile_dirs();
  auto names = list_profiles(dirs);
  EXPECT_NE(std::find(names.begin(), names.end(), "nginx"), names.end());
  for (const auto& n : names) {
    LoadError err;
    EXPECT_TRUE(find_profile(n, dirs, err)) << err.str();
  }
  LoadError err;
  EXPECT_FALSE(find_profile("ngnix", dirs, err));
  EXPECT_NE(err.message.find("did you mean \"nginx\""), std::string::npos) << err.message;
}
