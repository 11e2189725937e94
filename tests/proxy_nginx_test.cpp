// The corpus through a real nginx (Debian 12's 1.22), started by the test on loopback.
#include "proxy_support.hpp"
#include "support.hpp"

using namespace upfault;

// What nginx 1.22 does wrong, each confirmed by hand with curl through nginx against
// `upfault serve`. These are findings about nginx, not expectations bent to fit it.
static const std::set<std::string> kNginxFindings = {
    "duplicate-content-length",        // forwards 200 with the first Content-Length
    "non-numeric-content-length",      // forwards 200, re-framed as chunked
    "negative-content-length",         // forwards 200
    "plus-sign-content-length",        // forwards 200
    "huge-content-length",             // forwards 200, close-delimited
    "garbage-status-line",             // forwards the bytes as an HTTP/0.9 body
    "four-digit-status-code",          // same: HTTP/0.9
    "status-code-with-letters",        // same: HTTP/0.9
    "lowercase-http-name",             // same: HTTP/0.9
    "status-code-out-of-range",        // forwards "099" as the status
    "http2-version-on-http11",         // forwards "HTTP/2.0 200" as a 200
    "connection-named-field-removed",  // forwards the field that Connection names
    "proxy-connection-field-removed",  // forwards Proxy-Connection
    "unsolicited-100-continue",        // sends the 1xx as the final header, then closes at the read timeout
    "early-hints-103-forwarded",       // same
    "unknown-1xx-tolerated",           // same
};

// Where nginx is stricter than the RFC requires (informative, not failures).
static const std::set<std::string> kNginxStricter = {
    "many-small-fields",    // 502: more fields than its buffer holds
    "slow-header-dribble",  // 504: proxy_read_timeout bounds the whole header, not each read
};

// Every scenario gets a verdict that is about nginx: no errors; the findings fail, the rest pass.
TEST(Nginx, CorpusVerdictsMatchWhatNginxDoes) {
  UPFAULT_REQUIRE_PROXY("nginx");
  auto scenarios = test::corpus();
  auto run = test::run_profile("nginx", scenarios);
  ASSERT_EQ(run.results.size(), scenarios.size()) << run.setup_error;
  EXPECT_FALSE(run.proxy.version.empty());
  for (const auto& r : run.results) {
    const auto& name = r.scenario->name;
    auto want = kNginxFindings.count(name)   ? VerdictKind::fail
                : kNginxStricter.count(name) ? VerdictKind::stricter
                                             : VerdictKind::pass;
    EXPECT_EQ(r.verdict.kind, want) << name << ": " << r.verdict.reason;
  }
}

// A check that must fail does fail through a real proxy: a valid 200 where 502 is expected.
TEST(Nginx, WrongExpectationIsCaught) {
  UPFAULT_REQUIRE_PROXY("nginx");
  auto s = test::scenario(test::with_steps("valid-200-expected-502", R"(
[[upstream.steps]]
read = "request"
[[upstream.steps]]
response = { status = 200, body = "hello" }
)"));
  auto run = test::run_profile("nginx", {s});
  ASSERT_EQ(run.results.size(), 1u);
  EXPECT_EQ(run.results[0].verdict.kind, VerdictKind::fail);
  EXPECT_EQ(run.results[0].verdict.reason.rfind("expected 502, got 200 after", 0), 0u) << run.results[0].verdict.reason;
  EXPECT_NE(run.results[0].verdict.reason.find("(body 5 bytes: \"hello\")"), std::string::npos);
}

// The same suite against the same proxy gives the same verdicts, run after run.
TEST(Nginx, VerdictsAreStableAcrossRuns) {
  UPFAULT_REQUIRE_PROXY("nginx");
  auto scenarios = test::corpus();
  auto first = test::run_profile("nginx", scenarios);
  auto second = test::run_profile("nginx", scenarios);
  EXPECT_EQ(test::verdicts(first), test::verdicts(second)) << test::dump(first) << "---\n" << test::dump(second);
}
