// Isolation reruns (isolation.hpp) against the reference proxy's variants that have a memory: one
// that a single request crashes while others are in flight, and one that backs off after a
// failure. With isolation off, each run gives the verdicts the proxy's state decided.
#include <fmt/format.h>

#include <algorithm>

#include "proxy_support.hpp"

using namespace upfault;

namespace {

// The scenarios live as long as the results that point at them.
std::vector<Scenario> g_chosen;

SuiteRun run_reference(const std::vector<std::string>& extra, const std::vector<std::string>& names, unsigned jobs,
                       bool isolate) {
  auto profile = find_profile("reference", default_profile_dirs());
  EXPECT_TRUE(profile) << profile.error();
  if (!profile) return {};
  profile->command.insert(profile->command.end(), extra.begin(), extra.end());
  g_chosen.clear();
  const auto corpus = test::corpus();
  for (const auto& name : names)  // in the order given
    for (const auto& s : corpus)
      if (s.name == name) g_chosen.push_back(s);
  EXPECT_EQ(g_chosen.size(), names.size());
  SuiteOptions o;
  o.profile = *profile;
  o.run.timeouts = profile->timeouts;
  o.run.default_deadline = default_deadline(o.run.timeouts);
  o.run.jobs = jobs;
  o.isolate = isolate;
  return run_suite(g_chosen, o);
}

const ScenarioResult& result_of(const SuiteRun& run, const std::string& name) {
  static const ScenarioResult none;
  for (const auto& r : run.results)
    if (r.scenario && r.scenario->name == name) return r;
  ADD_FAILURE() << "no result for " << name;
  return none;
}

// ok-200-baseline crashes the proxy; silent-upstream's request (a 504 after the 1 s read timeout)
// is in flight when it does, whichever order the parallel pass sends them in.
const std::vector<std::string> kCrashSuite = {"ok-200-baseline", "silent-upstream", "upstream-500-passthrough",
                                              "connection-refused"};
const std::vector<std::string> kCrashOn = {"--crash-on", "/ok-200-baseline/"};

}  // namespace

TEST(Isolation, CrashInAParallelPassIsPinnedOnItsScenarioAndTheRestJudgedAlone) {
  auto run = run_reference(kCrashOn, kCrashSuite, 64, true);
  ASSERT_EQ(run.results.size(), kCrashSuite.size()) << run.setup_error;
  EXPECT_EQ(run.proxy_died, "") << "every scenario the death may have decided was rerun alone";
  EXPECT_EQ(run.crashes, 1);
  const auto& crasher = result_of(run, "ok-200-baseline");
  EXPECT_NE(crasher.proxy_crash.find("signal 6"), std::string::npos) << crasher.verdict.reason;
  EXPECT_TRUE(crasher.verdict.reason.starts_with("the proxy crashed while handling this scenario"))
      << crasher.verdict.reason;
  for (const auto& name : {"silent-upstream", "upstream-500-passthrough", "connection-refused"}) {
    const auto& r = result_of(run, name);
    EXPECT_EQ(r.verdict.kind, VerdictKind::pass) << name << ": " << r.verdict.reason << "\n" << r.note;
  }
  const auto& silent = result_of(run, "silent-upstream");
  EXPECT_NE(silent.note.find("rerun alone on a fresh proxy instance: in the suite its request was in flight when "
                             "the proxy died"),
            std::string::npos)
      << silent.note;
  EXPECT_NE(run.isolation.find("in flight when the proxy died"), std::string::npos) << run.isolation;
}

// Without isolation the same run cannot tell the crash's scenario: what was in flight is an error.
TEST(Isolation, WithoutItTheSameCrashLeavesErrors) {
  auto run = run_reference(kCrashOn, kCrashSuite, 64, false);
  ASSERT_EQ(run.results.size(), kCrashSuite.size()) << run.setup_error;
  EXPECT_NE(run.proxy_died.find("killed by signal 6"), std::string::npos) << run.proxy_died;
  EXPECT_EQ(result_of(run, "silent-upstream").verdict.kind, VerdictKind::error);
}

// The backoff variant answers the request after a failure 502 without asking the upstream: in the
// suite ok-200-baseline, run just after connection-refused, fails with its fault never delivered.
// Alone on a fresh instance it passes, and the note says its suite verdict depended on earlier
// scenarios.
TEST(Isolation, BackoffIsNotBlamedOnTheNextScenario) {
  const std::vector<std::string> suite = {"connection-refused", "ok-200-baseline"};
  auto without = run_reference({"--backoff"}, suite, 1, false);
  ASSERT_EQ(without.results.size(), 2u) << without.setup_error;
  const auto& blamed = result_of(without, "ok-200-baseline");
  EXPECT_EQ(blamed.verdict.kind, VerdictKind::fail) << "the variant did not back off: " << blamed.verdict.reason;
  EXPECT_NE(blamed.verdict.reason.find("the request never reached the upstream"), std::string::npos)
      << blamed.verdict.reason;

  auto run = run_reference({"--backoff"}, suite, 1, true);
  ASSERT_EQ(run.results.size(), 2u) << run.setup_error;
  const auto& r = result_of(run, "ok-200-baseline");
  EXPECT_EQ(r.verdict.kind, VerdictKind::pass) << r.verdict.reason;
  EXPECT_NE(r.note.find("it passes alone, so its verdict in the suite depended on what earlier scenarios left"),
            std::string::npos)
      << r.note;
  EXPECT_EQ(result_of(run, "connection-refused").note, "") << "a scenario the state did not decide is not rerun";
  EXPECT_NE(run.isolation.find(
                "1 whose fault never reached the upstream or whose endpoint fault failed, 1 of which passed alone"),
            std::string::npos)
      << run.isolation;
}

// A crash the scenario causes alone stays its crash: isolation never turns the fault's own
// effect into a pass.
TEST(Isolation, AFailureThatHoldsAloneStaysAFailure) {
  auto run = run_reference({"--crash-on", "/upstream-500-passthrough/"}, {"upstream-500-passthrough"}, 64, true);
  ASSERT_EQ(run.results.size(), 1u) << run.setup_error;
  EXPECT_EQ(run.crashes, 1) << "a crash alone is pinned where it happens: " << run.results[0].verdict.reason;
  EXPECT_EQ(run.results[0].verdict.kind, VerdictKind::fail);
}
