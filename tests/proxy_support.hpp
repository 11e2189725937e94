#pragma once
// Running scenarios through a real proxy from its profile, for integration tests.
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <map>
#include <set>

#include "upfault/loader.hpp"
#include "upfault/matrix.hpp"
#include "upfault/proxy.hpp"
#include "upfault/repeat.hpp"
#include "upfault/rig.hpp"
#include "upfault/runner.hpp"

namespace upfault::test {

/// Waits for the leader of `p` to exit: the kernel tells (a pidfd becomes readable), no polling;
/// `bound` only in case it never does. Then reaps it. True once it has exited.
inline bool leader_exits(ProxyProcess& p, std::chrono::milliseconds bound = std::chrono::seconds(10)) {
  const int fd = static_cast<int>(::syscall(SYS_pidfd_open, p.pid(), 0));
  if (fd >= 0) {
    pollfd exit_event{fd, POLLIN, 0};
    (void)::poll(&exit_event, 1, static_cast<int>(bound.count()));
    ::close(fd);
  }
  return !p.alive();
}

/// True when `program` is on PATH.
inline bool installed(const std::string& program) {
  return std::system(("command -v " + program + " >/dev/null 2>&1").c_str()) == 0;
}

/// Skips the test when the proxy is missing, unless UPFAULT_REQUIRE_PROXIES=1 (as in CI).
#define UPFAULT_REQUIRE_PROXY(program)                                                  \
  do {                                                                                  \
    if (!::upfault::test::installed(program)) {                                         \
      const char* req = std::getenv("UPFAULT_REQUIRE_PROXIES");                         \
      if (req && std::string(req) == "1") FAIL() << program << " is not installed";     \
      GTEST_SKIP() << program << " is not installed (scripts/install-deps.sh adds it)"; \
    }                                                                                   \
  } while (0)

/// The corpus's scenarios over HTTP/1.1 upstreams (`http2 = false`), or its HTTP/2 ones. Profiles
/// route HTTP/2 only where they declare it, so the two are run apart.
inline std::vector<Scenario> corpus(bool http2 = false) {
  auto r = load_scenarios({UPFAULT_SCENARIOS_DIR});
  for (const auto& e : r.errors) ADD_FAILURE() << e.str();
  std::vector<Scenario> out;
  for (auto& s : r.scenarios)
    if (is_http2(s.protocol) == http2) out.push_back(std::move(s));
  return out;
}

// A CA that is not upfault's (self-signed, P-256, made with `openssl req -x509`).
inline constexpr const char* kOtherCa =
    "-----BEGIN CERTIFICATE-----\n"
    "MIIBjjCCATOgAwIBAgIUBQ0Iailg5jfbLzHBCEVEHhMU4WUwCgYIKoZIzj0EAwIw\n"
    "GzEZMBcGA1UEAwwQbm90IHVwZmF1bHQncyBDQTAgFw0yNjExMjkwNTUwMjZaGA8y\n"
    "MTI2MTEwNTA1NTAyNlowGzEZMBcGA1UEAwwQbm90IHVwZmF1bHQncyBDQTBZMBMG\n"
    "ByqGSM49AgEGCCqGSM49AwEHA0IABCOAvH1GIRlOlXR2fdQ4+ZYpCyh/FSXLbZ+7\n"
    "ZHRmJsrwdh01Uh4VDA7XetAu1rGZitMRz9lLD/sZ8hF+S6JxkxKjUzBRMB0GA1Ud\n"
    "DgQWBBQopnoYSsvaXT6K5sjppv2WnKKNhjAfBgNVHSMEGDAWgBQopnoYSsvaXT6K\n"
    "5sjppv2WnKKNhjAPBgNVHRMBAf8EBTADAQH/MAoGCCqGSM49BAMCA0kAMEYCIQDj\n"
    "cFeN1AGoFnLiA780d0pp2t+vyai1/z0qL8RcVolZ2QIhAJIBCI+oyP/RjhH790tj\n"
    "0zeUTWADr5xoRl1/0oNQgiF4\n"
    "-----END CERTIFICATE-----\n";

/// Runs `scenarios` through the profiled proxy `name`, whatever the setup did.
inline SuiteRun run_profile_as_it_goes(const std::string& name, const std::vector<Scenario>& scenarios) {
  auto profile = find_profile(name, default_profile_dirs());
  EXPECT_TRUE(profile) << profile.error();
  SuiteOptions o;
  if (profile) o.profile = *profile;
  o.run.timeouts = profile ? profile->timeouts : ProxyTimeouts{};
  o.run.default_deadline = default_deadline(o.run.timeouts);
  return run_suite(scenarios, o);
}

/// Runs `scenarios` through the profiled proxy `name`; fails the test on a setup error.
inline SuiteRun run_profile(const std::string& name, const std::vector<Scenario>& scenarios) {
  auto run = run_profile_as_it_goes(name, scenarios);
  EXPECT_EQ(run.setup_error, "");
  EXPECT_EQ(run.proxy_died, "");
  return run;
}

/// Runs `scenarios` through the profiled proxy `runs` times (a fresh proxy each time) and keeps
/// every outcome, as `upfault run --repeat` does: one result per scenario, the worst run's, whose
/// `runs` list each outcome with its count where they differed. Whether a proxy answers a scenario
/// differently from run to run is measured so, never listed by hand.
inline std::vector<ScenarioResult> measure(const std::string& name, const std::vector<Scenario>& scenarios,
                                           unsigned runs, SuiteOptions options = {}) {
  RepeatedRuns all;
  auto profile = find_profile(name, default_profile_dirs());
  EXPECT_TRUE(profile) << profile.error();
  if (!profile) return {};
  options.profile = *profile;
  options.run.timeouts = profile->timeouts;
  options.run.default_deadline = default_deadline(options.run.timeouts);
  for (unsigned k = 0; k < runs; ++k) {
    auto run = run_suite(scenarios, options);
    EXPECT_EQ(run.setup_error, "");
    EXPECT_EQ(run.proxy_died, "");
    all.add(run.results);
  }
  return all.results();
}

/// The verdicts a measured result had: each of its outcomes', or its one verdict.
inline std::set<VerdictKind> verdicts_of(const ScenarioResult& r) {
  std::set<VerdictKind> out{r.verdict.kind};
  for (const auto& o : r.runs) out.insert(o.verdict);
  return out;
}

/// A measured result's outcomes, for messages: "pass 2/3, fail 1/3 (fail 1/3: …)", or its verdict and reason.
inline std::string outcomes(const ScenarioResult& r) {
  if (r.runs.empty()) return std::string(to_string(r.verdict.kind)) + ": " + r.verdict.reason;
  std::string out = distribution_text(r.runs) + " (";
  for (const auto& o : r.runs)
    out += std::string(to_string(o.verdict)) + " " + std::to_string(o.count) + ": " + o.reason + "; ";
  return out + ")";
}

/// Every result's line, for failure messages.
inline std::string dump(const SuiteRun& run) {
  std::string out;
  for (const auto& r : run.results)
    out += std::string(to_string(r.verdict.kind)) + " " + r.scenario->name + ": " + r.verdict.reason + "\n";
  return out;
}

}  // namespace upfault::test
