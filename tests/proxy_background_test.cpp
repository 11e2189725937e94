// A user's own profile whose config runs the proxy in the background (nginx without `daemon off;`,
// HAProxy with `daemon`): the process upfault started exits 0 and the real proxy goes on in a
// session of its own. upfault finds it, stops it (no process left, the port free) and says what
// to change in the config.
#include <fmt/format.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "proxy_support.hpp"
#include "support.hpp"

using namespace upfault;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

// A temp dir with a profile and its config template, removed at the end.
struct OwnProfile {
  fs::path dir = make_temp_dir("upfault-own-").value();
  ~OwnProfile() {
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
  ProxyProfile write(const std::string& profile, const std::string& config_name, const std::string& config) const {
    std::ofstream(dir / "profile.toml") << profile;
    std::ofstream(dir / config_name) << config;
    auto loaded = find_profile((dir / "profile.toml").string(), {});
    EXPECT_TRUE(loaded) << loaded.error();
    return loaded ? *loaded : ProxyProfile{};
  }
  // The pid in the pid file the config names (outside the work dir, which upfault removes; nginx
  // removes its own as it stops, HAProxy does not).
  [[nodiscard]] int pid() const {
    int pid = 0;
    std::ifstream(dir / "proxy.pid") >> pid;
    return pid;
  }
};

// A user's nginx config as many are written: no `daemon off;`, so nginx goes to the background
// (its pid file is outside the work dir, as a user's often is: the port finds it).
ProxyProfile nginx_in_background(const OwnProfile& own) {
  return own.write(
      "name = \"our-nginx\"\n"
      "command = [\"nginx\", \"-p\", \"{workdir}\", \"-c\", \"{workdir}/app.conf\", \"-e\", \"{workdir}/error.log\"]\n"
      "config = \"app.conf.in\"\nerror_log = \"{workdir}/error.log\"\n",
      "app.conf.in",
      fmt::format("worker_processes 1;\npid {}/proxy.pid;\nerror_log {{workdir}}/error.log info;\n"
                  "events {{ worker_connections 64; }}\n"
                  "http {{\n  access_log off;\n  client_body_temp_path {{workdir}}/client_body;\n"
                  "  proxy_temp_path {{workdir}}/proxy_temp;\n  fastcgi_temp_path {{workdir}}/fastcgi_temp;\n"
                  "  uwsgi_temp_path {{workdir}}/uwsgi_temp;\n  scgi_temp_path {{workdir}}/scgi_temp;\n"
                  "  server {{ listen 127.0.0.1:{{listen_port}}; location / {{ return 200 \"ok\"; }} }}\n}}\n",
                  own.dir.string()));
}

// The processes below this test in the process tree whose name is `program`. Whatever a proxy
// leaves running is there: the test is the subreaper of what its proxies leave (as upfault is).
std::vector<int> ours_named(const std::string& program) {
  std::map<int, std::pair<int, std::string>> procs;  // pid → (ppid, name)
  for (const auto& e : fs::directory_iterator("/proc")) {
    const auto name = e.path().filename().string();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::ifstream in(e.path() / "stat");
    std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    const auto open = stat.find('('), close = stat.rfind(')');
    if (open == std::string::npos || close == std::string::npos) continue;
    std::istringstream rest(stat.substr(close + 1));
    std::string state;
    int ppid = 0;
    rest >> state >> ppid;
    procs[std::stoi(name)] = {ppid, stat.substr(open + 1, close - open - 1)};
  }
  std::vector<int> out;
  for (const auto& [pid, proc] : procs) {
    int up = proc.first;
    for (int depth = 0; depth < 256 && up > 1 && up != ::getpid(); ++depth) up = procs.count(up) ? procs[up].first : 0;
    if (up == ::getpid() && proc.second == program) out.push_back(pid);
  }
  return out;
}

// What upfault said when `p` went to the background: start()'s error when the leader exited
// before the port answered, else (it exited after) once the leader's exit is seen.
std::string said(ProxyProcess& p, const Result<void>& started) {
  if (!started) return started.error().message;
  return test::leader_exits(p) ? p.background() : "the leader never exited";
}

// Ends what a failed check left running: the processes named `program` below this test.
void end_leftovers(const std::string& program) {
  for (int pid : ours_named(program)) {
    ::kill(pid, SIGKILL);
    ::waitpid(pid, nullptr, 0);  // once it is this test's child (an orphan re-parented to it)
  }
}

}  // namespace

// nginx without `daemon off;`: its master goes on in the background; upfault stops it and its
// worker (no nginx left, the port free) and names the fix.
TEST(OwnNginx, InTheBackgroundIsStoppedAndNamed) {
  UPFAULT_REQUIRE_PROXY("nginx");
  OwnProfile own;
  ProxyProcess p;
  const auto started = p.start(nginx_in_background(own), {});
  const auto message = said(p, started);
  EXPECT_NE(message.find("your config runs nginx in the background: add `daemon off;`"), std::string::npos) << message;
  EXPECT_EQ(ours_named("nginx"), std::vector<int>{}) << "an nginx process was left running";
  EXPECT_FALSE(accepts_connections("127.0.0.1", p.port())) << "port " << p.port() << " still answers";
  end_leftovers("nginx");
}

// The same through a whole run: the run stops with the fix in its message, and nothing is left.
TEST(OwnNginx, RunInTheBackgroundSaysToAddDaemonOff) {
  UPFAULT_REQUIRE_PROXY("nginx");
  OwnProfile own;
  SuiteOptions o;
  o.profile = nginx_in_background(own);
  o.run.timeouts = o.profile->timeouts;
  o.run.default_deadline = default_deadline(o.run.timeouts);
  auto s = test::scenario(test::with_steps("ok",
                                           "[[upstream.steps]]\nread = \"request\"\n[[upstream.steps]]\n"
                                           "response = { status = 200, body = \"ok\" }\n",
                                           "[expect]\nstatus = 200\n"));
  const auto run = run_suite({s}, o);
  const auto message = run.setup_error + run.proxy_died;
  EXPECT_NE(message.find("our-nginx: your config runs nginx in the background: add `daemon off;`"), std::string::npos)
      << message;
  EXPECT_EQ(ours_named("nginx"), std::vector<int>{}) << "an nginx process was left running";
  end_leftovers("nginx");
}

// HAProxy with `daemon` in its global section: stopped, and told to drop it (or to run with -db).
TEST(OwnHaproxy, InTheBackgroundIsStoppedAndNamed) {
  UPFAULT_REQUIRE_PROXY("haproxy");
  OwnProfile own;
  const auto profile = own.write(
      "name = \"our-haproxy\"\ncommand = [\"haproxy\", \"-f\", \"{workdir}/haproxy.cfg\"]\n"
      "config = \"haproxy.cfg.in\"\nerror_log = \"{workdir}/proxy.out\"\n",
      "haproxy.cfg.in",
      fmt::format("global\n    daemon\n    pidfile {}/proxy.pid\ndefaults\n    mode http\n"
                  "    timeout connect 1s\n    timeout server 1s\n    timeout client 30s\n"
                  "frontend f\n    bind 127.0.0.1:{{listen_port}}\n    http-request return status 200\n",
                  own.dir.string()));
  ProxyProcess p;
  const auto started = p.start(profile, {});
  const auto message = said(p, started);
  EXPECT_NE(message.find("your config runs HAProxy in the background: remove `daemon`"), std::string::npos) << message;
  const int left = own.pid();
  ASSERT_GT(left, 0) << "HAProxy wrote no pid file";
  EXPECT_FALSE(fs::exists(fmt::format("/proc/{}", left))) << "HAProxy " << left << " was left running";
  EXPECT_EQ(ours_named("haproxy"), std::vector<int>{}) << "a haproxy process was left running";
  EXPECT_FALSE(accepts_connections("127.0.0.1", p.port())) << "port " << p.port() << " still answers";
  end_leftovers("haproxy");
}
