// The corpus through real third-party proxies (Debian 12's packages), started by the test on
// loopback. Each proxy's findings were confirmed by hand (curl or a raw socket through the proxy
// against `upfault serve`): they are facts about that proxy version, not expectations bent to fit.
#include <fmt/format.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iostream>

#include "proxy_support.hpp"
#include "support.hpp"

using namespace upfault;

namespace {

struct Known {
  std::string profile;             ///< proxies/<profile>/
  std::string program;             ///< the binary that must be installed
  std::set<std::string> findings;  ///< scenarios it fails
  std::set<std::string> stricter;  ///< scenarios where it is stricter than required
};

const Known kNginx{"nginx",
                   "nginx",
                   {
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
                       "unsolicited-100-continue",    // sends the 1xx as the final header, closes at the read timeout
                       "early-hints-103-forwarded",   // same
                       "unknown-1xx-tolerated",       // same
                       "invalid-chunk-size",          // no byte, then a close: "Empty reply from server"
                       "chunk-missing-crlf",          // same
                       "chunk-size-overflow",         // same
                       "interim-then-close",          // sends the 100 (as its final header), then closes: no 502
                       "request-hop-by-hop-removed",  // forwards the request field that Connection names
                       // TLS upstream (proxy_ssl_verify on):
                       "tls-close-delimited-truncated",  // a FIN without close_notify ends the body: a 0 chunk follows
                       "tls-duplicate-content-length",   // as in plaintext
                       "tls-malformed-status-line",      // as in plaintext: HTTP/0.9
                   },
                   {
                       "many-small-fields",    // 502: more fields than its buffers hold
                       "slow-header-dribble",  // 504: proxy_read_timeout bounds the whole header, not each read
                   }};

const Known kHaproxy{
    "haproxy",
    "haproxy",
    {
        "connection-refused",  // 503 after 3 connect retries, not 502
        // TLS upstream (verify required): a failed or stalled handshake is 503, not 502/504
        "tls-cert-expired", "tls-cert-self-signed", "tls-cert-wrong-name", "tls-fatal-alert-instead-of-server-hello",
        "tls-garbage-instead-of-server-hello", "tls-handshake-stall",
        "tls-handshake-stall-twice",       // 503 after 4 s to each of the two requests, as for one
        "tls-close-delimited-truncated",   // a FIN without close_notify ends the body
        "blackhole-connect-timeout",       // 503 after retries, not 504
        "four-digit-status-code",          // forwards "HTTP/1.1 2000 OK"
        "status-code-out-of-range",        // forwards "HTTP/1.1 099 Odd"
        "http2-version-on-http11",         // forwards "HTTP/2.0 200" as a 200
        "nul-in-field-value",              // forwards the NUL byte
        "connection-named-field-removed",  // forwards the field that Connection names
        "keep-alive-field-removed",        // forwards Keep-Alive
        "proxy-connection-field-removed",  // forwards Proxy-Connection
        "request-hop-by-hop-removed",      // forwards the request field that Connection names
    },
    {
        "many-small-fields",        // 502: over its 101-field limit
        "slow-header-dribble",      // 504: timeout server bounds the whole header
        "unknown-transfer-coding",  // 502 for Transfer-Encoding without chunked
    }};

// Test names and listings show the profile, not the struct's bytes.
[[maybe_unused]] void PrintTo(const Known& k, std::ostream* os) { *os << k.profile; }

class ThirdParty : public ::testing::TestWithParam<Known> {};

}  // namespace

// The corpus three times through the proxy, every outcome kept. No run gives an error (each verdict
// is about the proxy). Where the three runs agree, the verdict is what the proxy is known to do
// (findings fail, the rest pass); where they differ — measured, never listed by hand — what it is
// known to do must be among the outcomes, which the test prints with their counts.
TEST_P(ThirdParty, CorpusVerdictsMatchWhatTheProxyDoesInEveryRun) {
  const auto& known = GetParam();
  UPFAULT_REQUIRE_PROXY(known.program);
  auto scenarios = test::corpus();
  for (const auto* list : {&known.findings, &known.stricter})
    for (const auto& name : *list)
      EXPECT_TRUE(std::any_of(scenarios.begin(), scenarios.end(), [&](const Scenario& s) { return s.name == name; }))
          << name << " is listed for " << known.profile << " but is not in the corpus";
  const auto results = test::measure(known.profile, scenarios, 3);
  ASSERT_EQ(results.size(), scenarios.size());
  for (const auto& r : results) {
    const auto& name = r.scenario->name;
    const auto verdicts = test::verdicts_of(r);
    EXPECT_FALSE(verdicts.count(VerdictKind::error)) << known.profile << " " << name << ": " << test::outcomes(r);
    auto want = known.findings.count(name)   ? VerdictKind::fail
                : known.stricter.count(name) ? VerdictKind::stricter
                                             : VerdictKind::pass;
    if (r.unstable()) {
      std::cout << known.profile << " " << name << " varied over 3 runs: " << test::outcomes(r) << "\n";
      EXPECT_TRUE(verdicts.count(want)) << known.profile << " " << name << " never gave " << to_string(want) << ": "
                                        << test::outcomes(r);
    } else {
      EXPECT_EQ(r.verdict.kind, want) << known.profile << " " << name << " in all 3 runs: " << test::outcomes(r);
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Proxies, ThirdParty, ::testing::Values(kNginx, kHaproxy),
                         [](const ::testing::TestParamInfo<Known>& p) { return p.param.profile; });

namespace {

// nginx's profile with one line of its routes changed (`from` → `to`, where {dir} is the profile's
// copy, which holds other-ca.pem: a CA that is not upfault's), through the https scenarios (with
// `certificates`, the certificate ones too). Pre-flight finds the mistake before the first
// scenario: no scenario runs, so none can fail for the setup's mistake, and the run's one setup
// error names the route (`says`).
void expect_preflight_names(const std::string& from, const std::string& to, const std::string& says,
                            bool certificates = false) {
  const auto dir = std::filesystem::temp_directory_path() / fmt::format("upfault-nginx-setup-{}", ::getpid());
  std::filesystem::remove_all(dir);
  auto nginx = find_profile("nginx", default_profile_dirs());
  ASSERT_TRUE(nginx) << nginx.error();
  std::filesystem::copy(nginx->dir, dir);
  std::ifstream in(dir / "routes.toml");
  std::string routes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  ASSERT_NE(routes.find(from), std::string::npos);
  std::string line = to;
  if (auto at = line.find("{dir}"); at != std::string::npos) line.replace(at, 5, dir.string());
  routes.replace(routes.find(from), from.size(), line);
  std::ofstream(dir / "routes.toml") << routes;
  std::ofstream(dir / "other-ca.pem") << test::kOtherCa;
  std::vector<Scenario> https;
  for (auto& s : test::corpus())
    if (s.protocol == UpstreamProtocol::https && (certificates || s.endpoint == Endpoint::scripted)) https.push_back(s);
  ASSERT_GE(https.size(), 15u);
  auto run = test::run_profile_as_it_goes((dir / "profile.toml").string(), https);
  EXPECT_TRUE(run.results.empty()) << test::dump(run);
  EXPECT_NE(run.setup_error.find("pre-flight: 1 route(s)"), std::string::npos) << run.setup_error;
  EXPECT_NE(run.setup_error.find(says), std::string::npos) << run.setup_error;
  std::filesystem::remove_all(dir);
}

}  // namespace

// nginx verifies the upstream's certificate after the handshake and closes, with no alert: told
// apart from a verdict all the same. The same profile with its own CA passes (the corpus test).
TEST(Nginx, DistrustedCaIsASetupErrorNotAVerdict) {
  UPFAULT_REQUIRE_PROXY("nginx");
  expect_preflight_names("proxy_ssl_trusted_certificate {ca_file};",
                         "proxy_ssl_trusted_certificate {dir}/other-ca.pem;",
                         "closed the connection without sending a request");
}

// Trust is per route: /__tls/ trusts upfault's CA, /__tls_expired/ does not. Without pre-flight,
// tls-cert-expired would pass on nginx's 502 although nginx would refuse any certificate there;
// pre-flight shows the valid certificate on that port first, so the pass means nginx checked.
TEST(Nginx, DistrustOnOneCertificateRouteIsNamedBeforeTheRun) {
  UPFAULT_REQUIRE_PROXY("nginx");
  expect_preflight_names(
      "location /__tls_expired/ { proxy_pass https://127.0.0.1:{tls_expired_port}; proxy_ssl_verify on; "
      "proxy_ssl_trusted_certificate {ca_file};",
      "location /__tls_expired/ { proxy_pass https://127.0.0.1:{tls_expired_port}; proxy_ssl_verify on; "
      "proxy_ssl_trusted_certificate {dir}/other-ca.pem;",
      "/__tls_expired/ did not reach upfault", true);
}

// /__tls/ sent over TLS to the plaintext port: the ClientHello is told at once, as a route to fix.
TEST(Nginx, TlsToThePlaintextPortIsASetupErrorNotAVerdict) {
  UPFAULT_REQUIRE_PROXY("nginx");
  expect_preflight_names("location /__tls/ { proxy_pass https://127.0.0.1:{tls_port};",
                         "location /__tls/ { proxy_pass https://127.0.0.1:{upstream_port};",
                         "started a TLS handshake on upfault's plaintext scripted port");
}

// The opposite mistake: /__tls/ sent in plain HTTP to the TLS port (http:// where https:// was
// meant). Each https scenario was a failure of nginx's (20 of them); it is a setup error naming
// the port, as soon as the plain request arrives there.
TEST(Nginx, PlainHttpToTheTlsPortIsASetupErrorNotAVerdict) {
  UPFAULT_REQUIRE_PROXY("nginx");
  expect_preflight_names("location /__tls/ { proxy_pass https://127.0.0.1:{tls_port};",
                         "location /__tls/ { proxy_pass http://127.0.0.1:{tls_port};",
                         "the proxy sent plain HTTP to upfault's TLS port for /__tls/ (127.0.0.1:");
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

// Caddy puts concurrent requests on one upstream HTTP/2 connection, and the fake upstream serves
// one stream a connection, refusing the rest (RST_STREAM REFUSED_STREAM). A scenario whose request
// was refused never met its fault in the parallel pass: it is rerun alone, on a fresh Caddy (no
// pooled connection carried over), so none is left "not tested", and its note says it was rerun.
// The holder keeps its connection busy for 5 s after its HEADERS, so the other requests, sent at
// the same moment by the parallel pass, find that connection open and are multiplexed onto it.
TEST(Caddy, RefusedStreamsAreRerunAloneNotLeftUntested) {
  UPFAULT_REQUIRE_PROXY("caddy");
  const std::string h2c = "[upstream]\nprotocol = \"h2c\"\n";
  std::vector<Scenario> h2{test::scenario(test::with_steps("h2-holder", h2c + R"(
[[upstream.steps]]
h2_headers = { headers = [":status: 200"], end_stream = false }
[[upstream.steps]]
delay = "5s"
[[upstream.steps]]
h2_data = { data = "held", end_stream = true }
)",
                                                           "[expect]\nstatus = 200\nbody = \"held\"\n"))};
  for (int i = 0; i < 6; ++i)
    h2.push_back(test::scenario(test::with_steps(fmt::format("h2-quick-{}", i), h2c + R"(
[[upstream.steps]]
h2_response = { status = 200, body = "quick" }
)",
                                                 "[expect]\nstatus = 200\nbody = \"quick\"\n")));
  // Whether Caddy multiplexes depends on when its connection to the upstream is up: a pass in
  // which it opened a connection per request refuses nothing and tests nothing, so the suite runs
  // again (at most 3 times) until one did. Every pass is judged in full all the same.
  int rerun = 0;
  SuiteRun run;
  for (int attempt = 1; attempt <= 3 && rerun == 0; ++attempt) {
    run = test::run_profile("caddy", h2);
    ASSERT_EQ(run.results.size(), h2.size()) << test::dump(run);
    for (const auto& r : run.results) {
      // The holder's own verdict is Caddy's business (under refusals and retries Caddy 2.6.2 at
      // times never forwards its body); every quick scenario, served alone if refused, passes.
      if (r.scenario->name != "h2-holder") {
        EXPECT_EQ(r.verdict.kind, VerdictKind::pass) << r.scenario->name << ": " << r.verdict.reason << "\n" << r.note;
      }
      EXPECT_EQ(r.verdict.reason.find("the upstream never served the request: refused"), std::string::npos)
          << r.scenario->name << ": " << r.verdict.reason;
      rerun +=
          r.note.find("rerun alone on a fresh proxy instance: in the suite the upstream refused") != std::string::npos;
    }
  }
  EXPECT_GT(rerun, 0) << "no request was refused in 3 passes: Caddy multiplexed nothing, and the test tests nothing\n"
                      << test::dump(run);
}

// Caddy forwards a valid field line over 64 KiB, and one of 1 MiB, whole (Go's limit is a 10 MiB
// header section): the client reads the field exactly as the upstream sent it and the scenario
// passes (the client read a field line over 64 KiB as an invalid response: a false failure).
TEST(Caddy, FieldLinesOver64KiBForwardedIntactPass) {
  UPFAULT_REQUIRE_PROXY("caddy");
  std::vector<Scenario> big;
  for (auto& s : test::corpus())
    if (s.name == "field-line-over-64-kib" || s.name == "field-line-of-1-mib") big.push_back(std::move(s));
  ASSERT_EQ(big.size(), 2u);
  auto run = test::run_profile("caddy", big);
  ASSERT_EQ(run.results.size(), big.size()) << test::dump(run);
  for (const auto& r : run.results) {
    const auto& name = r.scenario->name;
    ASSERT_TRUE(r.client.response) << name << ": " << r.verdict.reason;
    EXPECT_EQ(r.client.response->status, 200) << name << ": Caddy forwards it (a 502 would pass, but test nothing)";
    const auto& sent = r.scenario->upstream_response->headers;
    const auto field = std::find_if(sent.begin(), sent.end(), [](const Header& h) { return h.first == "X-Fill-1"; });
    ASSERT_NE(field, sent.end());
    EXPECT_GT(field->second.size(), 64u * 1024u);
    const auto& got = r.client.response->headers;
    EXPECT_TRUE(std::find(got.begin(), got.end(), *field) != got.end()) << name << ": the field did not arrive whole";
    EXPECT_EQ(r.verdict.kind, VerdictKind::pass) << name << ": " << r.verdict.reason;
  }
}

// Apache, given an HTTP/2 upstream response whose Content-Length: 100 body ends at 5 bytes,
// splices its own 502 page into the body; the rest of that page waits on the client connection and
// is read as the next response. A Connection: close client never sees it; the keep-alive probe
// does, and names it a desync with the bytes.
TEST(Apache, ResponseQueuePoisoningIsCaughtByTheKeepAliveProbe) {
  UPFAULT_REQUIRE_PROXY("apache2");
  std::vector<Scenario> one;
  for (auto& s : test::corpus(/*http2=*/true))
    if (s.name == "h2-content-length-more-than-data") one.push_back(s);
  ASSERT_EQ(one.size(), 1u);
  auto judged = [&](bool probe) {
    auto profile = find_profile("apache", default_profile_dirs());
    EXPECT_TRUE(profile) << profile.error();
    SuiteOptions o;
    o.profile = *profile;
    o.run.timeouts = profile->timeouts;
    o.run.default_deadline = default_deadline(o.run.timeouts);
    o.run.keepalive_probe = probe;
    auto run = run_suite(one, o);
    EXPECT_EQ(run.results.size(), 1u) << run.setup_error;
    return run.results.empty() ? std::string() : run.results[0].verdict.reason;
  };
  const auto with = judged(true);
  EXPECT_NE(with.find("desync: the proxy kept the client connection open after the response"), std::string::npos)
      << with;
  EXPECT_NE(with.find("502 Bad Gateway"), std::string::npos) << with;
  const auto without = judged(false);
  EXPECT_EQ(without.find("desync"), std::string::npos) << without;
}
