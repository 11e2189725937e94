// Every shipped proxy profile starts its proxy on loopback and runs the passthrough, timing and
// endpoint scenarios (the routes of its routes.toml) through it; the verdicts must match the published matrix
// (docs/conformance), so CI checks what the project publishes. A verdict the matrix did not publish is measured:
// the scenario runs alone again, and only one that never gives a published verdict fails (one that does varies
// from run to run, and is reported with its outcomes).
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <boost/json.hpp>

#include <fstream>
#include <iostream>
#include <set>
#include <sstream>

#include "proxy_support.hpp"
#include "upfault/matrix.hpp"

using namespace upfault;

namespace {

// Profile name → the program that must be installed.
const std::vector<std::pair<std::string, std::string>> kProfiles = {
    {"nginx", "nginx"},
    {"haproxy", "haproxy"},
    {"apache", "apache2"},
    {"caddy", "caddy"},
    {"varnish", "varnishd"},
    {"squid", "squid"},
    {"trafficserver", "traffic_server"},
    {"h2o", "h2o"},
    {"nghttpx", "nghttpx"},
    {"lighttpd", "lighttpd"},
    {"node-http-proxy", "node"},
};

// Scenario → the verdicts the published matrix gives it: its verdict, and with `matrix --repeat`
// the verdict of each outcome of a cell that varied.
std::map<std::string, std::set<std::string>> published(const std::string& proxy) {
  std::ifstream in(std::string(UPFAULT_SOURCE_DIR) + "/docs/conformance/results/" + proxy + ".json");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::map<std::string, std::set<std::string>> out;
  if (text.empty()) return out;
  auto root = boost::json::parse(text);
  for (const auto& r : root.as_object().at("results").as_array()) {
    const auto& o = r.as_object();
    auto& verdicts = out[std::string(o.at("scenario").as_string())];
    verdicts.insert(std::string(o.at("verdict").as_string()));
    if (const auto* runs = o.if_contains("runs"))
      for (const auto& run : runs->as_array()) verdicts.insert(std::string(run.at("verdict").as_string()));
  }
  return out;
}

// Runs a scenario alone through the proxy up to `times` times, until it gives one of `verdicts`:
// the measurement that tells a verdict that varies from one that changed. Whether it gave one, and
// every outcome it saw (appended to `seen`).
bool measure_alone(const std::string& name, const Scenario& s, const std::set<std::string>& verdicts, int times,
                   std::string& seen) {
  SuiteOptions o;
  o.run.jobs = 1;
  for (int k = 0; k < times; ++k) {
    const auto r = test::measure(name, {s}, 1, o);
    if (r.empty()) return false;
    seen += fmt::format("\n  then alone: {}: {}", to_string(r[0].verdict.kind), r[0].verdict.reason);
    if (verdicts.count(std::string(to_string(r[0].verdict.kind)))) return true;
  }
  return false;
}

// The Node.js proxy needs its npm modules, which scripts/install-deps.sh installs.
bool modules_missing(const std::string& profile) {
  return profile == "node-http-proxy" &&
         !std::ifstream(std::string(UPFAULT_SOURCE_DIR) +
                        "/proxies/node-http-proxy/node_modules/http-proxy/package.json");
}

class Profile : public ::testing::TestWithParam<std::pair<std::string, std::string>> {};

}  // namespace

TEST_P(Profile, PassthroughAndTimingMatchThePublishedMatrix) {
  const auto& [name, program] = GetParam();
  UPFAULT_REQUIRE_PROXY(program);
  if (modules_missing(name)) GTEST_SKIP() << "http-proxy is not installed (scripts/install-deps.sh runs npm ci)";
  auto want = published(name);
  ASSERT_FALSE(want.empty()) << "docs/conformance/results/" << name << ".json is missing: run upfault matrix";
  std::vector<Scenario> subset;
  for (auto& s : test::corpus())
    // With every endpoint scenario: they prove the profile's routes.toml, which `upfault routes` prints.
    if (s.category == "passthrough" || s.category == "timing" || s.endpoint != Endpoint::scripted)
      subset.push_back(std::move(s));
  ASSERT_GE(subset.size(), 15u);

  auto profile = find_profile(name, default_profile_dirs());
  ASSERT_TRUE(profile) << profile.error();
  EXPECT_TRUE(load_quirks(profile->dir));
  SuiteOptions o;
  o.profile = *profile;
  o.run.timeouts = profile->timeouts;
  o.run.jobs = 1;  // as the matrix runs it
  o.run.default_deadline = default_deadline(o.run.timeouts);
  auto run = run_suite(subset, o);
  ASSERT_EQ(run.setup_error, "");
  EXPECT_FALSE(run.proxy.version.empty()) << name << " reported no version";
  ASSERT_EQ(run.results.size(), subset.size());
  for (const auto& r : run.results) {
    const auto& scenario = r.scenario->name;
    EXPECT_NE(r.verdict.kind, VerdictKind::error) << name << " " << scenario << ": " << r.verdict.reason;
    if (scenario == "ok-200-baseline") {
      EXPECT_EQ(r.verdict.kind, VerdictKind::pass) << name << " does not route a plain request: " << r.verdict.reason;
    }
    const auto& verdicts = want[scenario];
    if (verdicts.count(std::string(to_string(r.verdict.kind)))) continue;
    // Not what the matrix published: measured alone, up to 4 more runs, before it counts as a change.
    std::string runs = fmt::format("{}: {}", to_string(r.verdict.kind), r.verdict.reason);
    const auto said = fmt::format("{}", fmt::join(verdicts, ", "));
    if (measure_alone(name, *r.scenario, verdicts, 4, runs))
      std::cout << name << " " << scenario << " varies from run to run (published: " << said << "):\n  " << runs
                << "\n";
    else
      ADD_FAILURE() << name << " " << scenario
                    << " differs from docs/conformance in every run (published: " << (said.empty() ? "nothing" : said)
                    << "):\n  " << runs;
  }
}

INSTANTIATE_TEST_SUITE_P(Shipped, Profile, ::testing::ValuesIn(kProfiles),
                         [](const ::testing::TestParamInfo<std::pair<std::string, std::string>>& p) {
                           std::string n = p.param.first;
                           for (auto& c : n)
                             if (c == '-') c = '_';
                           return n;
                         });

namespace {

// Every process in process group `pgid`.
std::set<int> group_members(int pgid) {
  std::set<int> out;
  for (const auto& e : std::filesystem::directory_iterator("/proc")) {
    const auto name = e.path().filename().string();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::ifstream in(e.path() / "stat");
    std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    auto close = stat.rfind(')');
    if (close == std::string::npos) continue;
    std::istringstream rest(stat.substr(close + 2));
    std::string state;
    int ppid = 0, pgrp = 0;
    rest >> state >> ppid >> pgrp;
    if (pgrp == pgid) out.insert(std::stoi(name));
  }
  return out;
}

// `ss` lines (TCP and UDP, listening and connected) of sockets that processes in `pids` hold.
std::vector<std::string> sockets_of(const std::set<int>& pids) {
  std::vector<std::string> out;
  FILE* p = ::popen("ss -H -tuanp", "r");
  if (!p) return out;
  char line[4096];
  while (std::fgets(line, sizeof line, p)) {
    std::string l(line);
    for (int pid : pids)
      if (l.find("pid=" + std::to_string(pid) + ",") != std::string::npos) {
        out.push_back(l);
        break;
      }
  }
  ::pclose(p);
  return out;
}

// The local address of an `ss -tuanp` line: its fifth column.
std::string local_address(const std::string& line) {
  std::istringstream in(line);
  std::string netid, state, recvq, sendq, local;
  in >> netid >> state >> recvq >> sendq >> local;
  return local;
}

bool loopback_address(const std::string& local) {
  return local.rfind("127.", 0) == 0 || local.rfind("[::1]:", 0) == 0 || local.rfind("[::ffff:127.", 0) == 0;
}

}  // namespace

// Each profile's proxy, started as upfault starts it and sent a request, holds sockets on loopback
// only (TCP or UDP, none on a wildcard such as 0.0.0.0 or [::]), holds none of upfault's own
// listening sockets, and writes nothing in $HOME.
TEST_P(Profile, ListensOnLoopbackOnlyAndWritesOnlyInItsWorkDir) {
  const auto& [name, program] = GetParam();
  UPFAULT_REQUIRE_PROXY(program);
  if (modules_missing(name)) GTEST_SKIP() << "http-proxy is not installed (scripts/install-deps.sh runs npm ci)";
  std::string pattern = (std::filesystem::temp_directory_path() / "upfault-home-XXXXXX").string();
  ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
  const std::filesystem::path home = pattern;
  const char* old_home = std::getenv("HOME");
  const std::string saved = old_home ? old_home : "";
  ::setenv("HOME", home.c_str(), 1);

  auto profile = find_profile(name, default_profile_dirs());
  ASSERT_TRUE(profile) << profile.error();
  std::vector<Scenario> one;
  for (auto& s : test::corpus())
    if (s.name == "ok-200-baseline") one.push_back(std::move(s));
  ASSERT_EQ(one.size(), 1u);
  FakeUpstream::Options uo;
  uo.timeouts = profile->timeouts;
  FakeUpstream upstream(uo);
  upstream.add(one[0]);
  upstream.start();
  ProxyProcess process;
  auto started = process.start(*profile, upstream.ports());
  ASSERT_TRUE(started) << started.error();
  RunOptions ro;
  ro.proxy_port = process.port();
  ro.timeouts = profile->timeouts;
  auto results = run_scenarios(one, upstream, ro);
  ASSERT_EQ(results.size(), 1u);
  EXPECT_EQ(results[0].verdict.kind, VerdictKind::pass) << results[0].verdict.reason;

  const auto pids = group_members(process.pid());
  ASSERT_FALSE(pids.empty());
  const auto lines = sockets_of(pids);
  EXPECT_FALSE(lines.empty()) << "ss shows no socket of " << name << " (is ss from iproute2 installed?)";
  const auto p = upstream.ports();
  for (const auto& l : lines) {
    const auto local = local_address(l);
    EXPECT_TRUE(loopback_address(local)) << name << " holds a socket outside loopback: " << l;
    for (auto port : {p.scripted, p.refused, p.blackhole, p.accept_close, p.accept_reset})
      EXPECT_FALSE(local.size() > 6 && local.ends_with(":" + std::to_string(port)) &&
                   l.find("LISTEN") != std::string::npos)
          << name << " inherited upfault's listening socket: " << l;
  }
  process.stop();
  upstream.stop();
  std::vector<std::string> written;
  for (const auto& e : std::filesystem::recursive_directory_iterator(home)) written.push_back(e.path().string());
  EXPECT_TRUE(written.empty()) << name << " wrote in $HOME: " << written.front();
  std::filesystem::remove_all(home);
  ::setenv("HOME", saved.c_str(), 1);
}
