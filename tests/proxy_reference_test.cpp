// The corpus against upfault's own reference proxy and blind relay: the proof that every
// expectation is achievable, and that the harness catches a proxy that does everything wrong.
#include "proxy_support.hpp"

using namespace upfault;

// `should` and `may` scenarios the reference proxy does not pass, each with the reason.
// Empty today: it passes every scenario of every level.
static const std::map<std::string, std::string> kReferenceExceptions = {};

// Scenarios where relaying bytes unchanged is wrong: the blind relay must fail every one.
static const std::set<std::string> kBlindMustFail = {
    "connection-refused",          // closes the client: no 502
    "close-before-any-byte",       // same
    "reset-after-request",         // same
    "close-mid-header",            // relays half a header
    "reset-mid-header",            // same
    "garbage-status-line",         // relays garbage
    "four-digit-status-code",      // relays an invalid status line
    "status-code-out-of-range",    // same
    "duplicate-content-length",    // relays invalid framing
    "non-numeric-content-length",  // same
    "silent-upstream",             // no timeout: no 504
    "status-line-then-silence",    // same
};

// Scenarios where relaying bytes unchanged is right: the blind relay passes them.
static const std::set<std::string> kBlindMayPass = {
    "ok-200-baseline",
    "upstream-500-passthrough",
    "upstream-503-passthrough",
    "upstream-404-passthrough",
    "origin-502-passthrough",
    "origin-504-passthrough",
    "content-length-body-cut-short",  // closing the client when the upstream closes is the right signal
};

// Every scenario passes against the reference proxy (every `must`; the rest unless listed above).
TEST(Reference, PassesTheWholeCorpus) {
  auto scenarios = test::corpus();
  auto run = test::run_profile("reference", scenarios);
  ASSERT_EQ(run.results.size(), scenarios.size());
  for (const auto& r : run.results) {
    const auto& name = r.scenario->name;
    if (r.scenario->level != Level::must && kReferenceExceptions.count(name)) continue;
    EXPECT_EQ(r.verdict.kind, VerdictKind::pass) << name << ": " << r.verdict.reason;
  }
}

// The blind relay fails exactly where relaying is wrong, and the lists cover the whole corpus,
// so a new scenario must be classified here before the build is green again.
TEST(Blind, IsCaughtWhereverRelayingIsWrong) {
  auto scenarios = test::corpus();
  for (const auto& s : scenarios)
    EXPECT_TRUE(kBlindMustFail.count(s.name) + kBlindMayPass.count(s.name) == 1)
        << s.name << " must be listed in exactly one of kBlindMustFail and kBlindMayPass";
  auto run = test::run_profile("blind", scenarios);
  ASSERT_EQ(run.results.size(), scenarios.size());
  for (const auto& r : run.results) {
    const auto& name = r.scenario->name;
    const auto want = kBlindMustFail.count(name) ? VerdictKind::fail : VerdictKind::pass;
    EXPECT_EQ(r.verdict.kind, want) << name << ": " << r.verdict.reason;
  }
}

// The reference proxy removes hop-by-hop fields, and those the Connection header names.
TEST(Reference, RemovesHopByHopFields) {
  auto r = load_scenario_text(R"(
name = "hop-by-hop"
summary = "s"
rfc = "RFC 9110 §7.6.1"
level = "must"
[[upstream.steps]]
read = "request"
[[upstream.steps]]
send = "HTTP/1.1 200 OK\r\nConnection: close, X-Private\r\nKeep-Alive: timeout=5\r\nX-Private: secret\r\nX-Public: yes\r\nContent-Length: 2\r\n\r\nok"
[expect]
status = 200
)", "inline.toml");
  ASSERT_TRUE(r.errors.empty()) << r.errors[0].str();
  auto run = test::run_profile("reference", r.scenarios);
  ASSERT_EQ(run.results.size(), 1u);
  const auto& resp = run.results[0].client.response;
  ASSERT_TRUE(resp);
  auto has = [&](std::string_view name, std::string_view value) {
    for (const auto& [n, v] : resp->headers)
      if (n == name && (value.empty() || v == value)) return true;
    return false;
  };
  EXPECT_TRUE(has("X-Public", "yes"));
  EXPECT_FALSE(has("X-Private", ""));
  EXPECT_FALSE(has("Keep-Alive", ""));
  EXPECT_FALSE(has("Connection", "close, X-Private"));
}
