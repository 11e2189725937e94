// The keep-alive probe (runner.hpp RunOptions::keepalive_probe): on a connection the proxy keeps
// open after the judged response, a known-good request follows, and anything but its own answer is
// a desync. Here the fake upstream plays the proxy, so each case is exact: the client talks to it
// directly, the scenario's script is what "the proxy" sends, and the probe's own scenario answers
// the next request on the same connection, as a pooling upstream routes every request on its own.
#include <gtest/gtest.h>

#include "support.hpp"
#include "upfault/verdict.hpp"

using namespace upfault;
using upfault::test::with_steps;
using namespace std::chrono_literals;

namespace {

Scenario probe_scenario() {
  return test::scenario(with_steps(std::string(kKeepAliveProbe),
                                   "[[upstream.steps]]\nread = \"request\"\n[[upstream.steps]]\nresponse = { status = "
                                   "200, body = \"" +
                                       std::string(kKeepAliveProbeBody.substr(0, kKeepAliveProbeBody.size() - 1)) +
                                       "\\n\" }\n",
                                   "[expect]\nstatus = 200\n"));
}

// The scenario's request (keep-alive, so the connection stays open) and, with `probe`, the probe
// after it; judged as the runner judges.
ScenarioResult exchange(const std::string& steps, bool probe) {
  auto s = std::make_shared<Scenario>(
      test::scenario(with_steps("k", "[[upstream.steps]]\nread = \"request\"\n" + steps, "[expect]\nstatus = 200\n")));
  test::Upstream up({*s, probe_scenario()});
  FetchOptions fo;
  fo.port = up.up.port();
  fo.deadline = 5000ms;
  ScenarioResult r;
  if (probe) {
    Request next;
    fo.probe_wire = render_request(next, route_prefix(kKeepAliveProbe), {}, "127.0.0.1");
    fo.before_probe = [&] { r.upstream = up.up.log(s->name); };
  }
  r.client =
      converse(fo, render_requests(s->request, route_prefix(s->name), {}, "127.0.0.1", !probe), s->request.connections);
  if (!probe) r.upstream = up.up.log(s->name);
  r.scenario = s;
  r.verdict = evaluate(*s, r, JudgeOptions{});
  return r;
}

const std::string kPoisoned =
    "[[upstream.steps]]\nsend = \"HTTP/1.1 200 OK\\r\\nContent-Length: 2\\r\\n\\r\\nok"
    "HTTP/1.1 502 Bad Gateway\\r\\nContent-Length: 0\\r\\n\\r\\n\"\n";

}  // namespace

// A connection left clean: the probe gets its own 200, and the verdict is the scenario's.
TEST(KeepAliveProbe, ACleanConnectionPasses) {
  auto r = exchange("[[upstream.steps]]\nresponse = { status = 200, body = \"ok\" }\n", true);
  ASSERT_EQ(r.client.probe.size(), 1u) << "the probe was not sent on the kept-alive connection";
  EXPECT_EQ(r.client.probe[0].response->body, kKeepAliveProbeBody);
  EXPECT_EQ(r.verdict.kind, VerdictKind::pass) << r.verdict.reason;
  EXPECT_EQ(r.upstream.requests(), 1) << "the scenario's evidence is what the upstream saw before the probe";
}

// A response that leaves a second one behind: with a Connection: close client nothing shows; the
// probe reads the leftover as its answer, and the scenario fails as a desync, the bytes quoted.
TEST(KeepAliveProbe, LeftoverBytesAreADesyncWithTheBytesQuoted) {
  auto blind = exchange(kPoisoned, false);
  EXPECT_EQ(blind.verdict.kind, VerdictKind::pass) << blind.verdict.reason;
  auto r = exchange(kPoisoned, true);
  ASSERT_EQ(r.client.probe.size(), 1u);
  EXPECT_EQ(r.verdict.kind, VerdictKind::fail);
  EXPECT_NE(r.verdict.reason.find("desync: the proxy kept the client connection open after the response, and the "
                                  "next request on it (upfault's keep-alive probe, a known-good 200) got 502"),
            std::string::npos)
      << r.verdict.reason;
  EXPECT_NE(r.verdict.reason.find("bytes were already waiting on the connection before it was sent: \"HTTP/1.1 502"),
            std::string::npos)
      << r.verdict.reason;
}

// A proxy that closes the connection after the response told the probe nothing: no finding.
TEST(KeepAliveProbe, AConnectionClosedAfterTheResponseSaysNothing) {
  auto r = exchange(
      "[[upstream.steps]]\nresponse = { status = 200, body = \"ok\" }\n[[upstream.steps]]\nclose = \"fin\"\n", true);
  EXPECT_EQ(r.verdict.kind, VerdictKind::pass) << r.verdict.reason;
}
