// The judge, one expectation kind at a time: each with an observation it must pass and one it
// must fail, with the words the failure must give. A judge that accepts 503 for 502, or a
// timeout for 504, fails here, not only in a third-party proxy's test.
#include <gtest/gtest.h>

#include "base/pattern.hpp"
#include "support.hpp"
#include "upfault/http.hpp"
#include "upfault/verdict.hpp"

using namespace upfault;
using namespace std::chrono_literals;

namespace {

using test::complete;
using test::cut_after_header;
using test::ended;
ClientResult with_interim(ClientResult c, std::vector<int> interim) {
  c.interim = std::move(interim);
  return c;
}
UpstreamLog requests(int n) {
  UpstreamLog up;
  for (int i = 0; i < n; ++i) {
    up.connections.emplace_back();
    up.connections.back().requests = 1;
  }
  return up;
}

UpstreamLog received(const std::string& head) {
  auto up = requests(1);
  up.connections[0].received = head;
  return up;
}

struct Case {
  const char* name;
  const char* expect;  // the [expect] table's body
  ClientResult pass;
  ClientResult fail;
  const char* because;  // a fragment of the failure's reason
  UpstreamLog pass_up = requests(1);
  UpstreamLog fail_up = requests(1);
  VerdictKind fail_kind = VerdictKind::fail;
};

// The upstream answers 503 "down" with X-Why: maintenance (so passthrough has something to compare).
const std::string kSteps =
    "[[upstream.steps]]\nread = \"head\"\n[[upstream.steps]]\n"
    "response = { status = 503, headers = [\"X-Why: maintenance\"], body = \"down\" }\n";

const ProxyTimeouts kTimeouts{1000ms, 1000ms};

std::vector<Case> cases() {
  return {
      {"status_502_not_503", "status = 502", complete(502), complete(503), "expected 502, got 503"},
      {"status_504_not_a_timeout", "status = 504", complete(504), ended(Ending::timed_out, 4000ms),
       "expected 504, got no response at all within 4.00 s"},
      {"status_list", "status = [502, 504]", complete(504), complete(500), "expected 502 or 504, got 500"},
      {"passthrough_status", "passthrough = true", complete(503, "down", {{"X-Why", "maintenance"}}),
       complete(502, "down", {{"X-Why", "maintenance"}}), "the upstream sent 503, not 502"},
      {"passthrough_body", "passthrough = true", complete(503, "down", {{"X-Why", "maintenance"}}),
       complete(503, "Service Unavailable", {{"X-Why", "maintenance"}}), "the body differs"},
      {"passthrough_header", "passthrough = true", complete(503, "down", {{"X-Why", "maintenance"}}),
       complete(503, "down"), "header x-why is missing"},
      {"aborted", "aborted = true", cut_after_header(), complete(200, "hello"), "the response was not aborted"},
      {"aborted_not_nothing", "aborted = true", cut_after_header(), ended(Ending::closed_early),
       "no response at all is not an aborted response"},
      {"aborted_not_a_bare_reset", "aborted = true", cut_after_header(Ending::reset), ended(Ending::reset),
       "no response at all is not an aborted response"},
      {"upstream_asked", "status = 502", complete(502), complete(502), "never sent the request to the upstream",
       requests(1), requests(0)},
      {"upstream_request_present", "status = 200\nupstream_request = { present = [\"Expect\"] }", complete(200),
       complete(200), "the upstream's request had no Expect field",
       received("GET / HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n\r\n"),
       received("GET / HTTP/1.1\r\nHost: x\r\n\r\n")},
      {"upstream_request_absent", "status = 200\nupstream_request = { absent = [\"Keep-Alive\"] }", complete(200),
       complete(200), "the upstream's request had a Keep-Alive field", received("GET / HTTP/1.1\r\nHost: x\r\n\r\n"),
       received("GET / HTTP/1.1\r\nkeep-alive: 5\r\nHost: x\r\n\r\n")},
      {"aborted_not_hanging", "aborted = true", cut_after_header(), ended(Ending::timed_out, 4000ms),
       "neither completed the response nor closed the connection"},
      {"within", "status = 504\nwithin = \"2 * read_timeout\"", complete(504, "", {}, 1500ms),
       complete(504, "", {}, 2500ms), "later than within = \"2 * read_timeout\" (2.00 s)"},
      {"not_before", "status = 504\nnot_before = \"read_timeout\"", complete(504, "", {}, 1200ms),
       complete(504, "", {}, 10ms), "sooner than not_before = \"read_timeout\""},
      {"header_present", "status = 200\nheader_present = [\"X-A\"]", complete(200, "", {{"X-A", "1"}}), complete(200),
       "header X-A is missing"},
      {"header_absent", "status = 200\nheader_absent = [\"X-A\"]", complete(200),
       complete(200, "", {{"x-a", "secret"}}), "header X-A is present (\"secret\")"},
      {"headers_equal", "status = 200\nheaders = [\"X-A: yes\"]", complete(200, "", {{"X-A", "yes"}}),
       complete(200, "", {{"X-A", "no"}}), "header X-A is \"no\", not \"yes\""},
      {"headers_match", "status = 200\nheaders_match = [\"Via: 1\\\\.1 .+\"]",
       complete(200, "", {{"Via", "1.1 proxy"}}), complete(200, "", {{"Via", "1.0 proxy"}}),
       "which does not match /1\\\\.1 .+/"},
      {"body", "status = 200\nbody = \"ok\"", complete(200, "ok"), complete(200, "no"), "the body is not \"ok\""},
      {"body_beyond_what_is_kept", "passthrough = true", complete(503, "down", {{"X-Why", "maintenance"}}),
       [] {
         auto c = complete(503, std::string(kBodyKeep + 10, 'x'), {{"X-Why", "maintenance"}});
         return c;
       }(),
       "the body differs"},
      {"interim", "status = 200\ninterim = [103]", with_interim(complete(200), {103}), complete(200),
       "no interim response arrived (wanted 103)"},
      // A dropped 100 Continue is as much a miss as a dropped 103 (RFC 9110 §15.2: a proxy forwards 1xx).
      {"interim_100_dropped", "status = 200\ninterim = [100]", with_interim(complete(200), {100}), complete(200),
       "no interim response arrived (wanted 100)"},
      {"interim_100_of_two_dropped", "status = 200\ninterim = [100, 103]", with_interim(complete(200), {100, 103}),
       with_interim(complete(200), {103}), "interim responses were 103"},
      {"upstream_requests", "status = 200\nupstream_requests = 1", complete(200), complete(200),
       "2 requests reached the upstream, not 1", requests(1), requests(2)},
      {"upstream_requests_at_most", "status = 502\nupstream_requests = { at_most = 3 }", complete(502), complete(502),
       "4 requests reached the upstream, more than the 3 allowed", requests(3), requests(4)},
      // A bound is no proof the upstream was asked: never sending the request is not tested.
      {"upstream_requests_at_most_asked", "status = 502\nupstream_requests = { at_most = 3 }", complete(502),
       complete(502), "never sent the request to the upstream", requests(1), requests(0)},
      {"or", "status = 502\n[[expect.or]]\naborted = true", cut_after_header(), complete(503),
       "expected 502 or an aborted response, got 503"},
      {"stricter_is_not_pass", "status = 502\n[[expect.stricter]]\nstatus = 500", complete(502), complete(500),
       "stricter than required", requests(1), requests(1), VerdictKind::stricter},
  };
}

// gtest names a failing case by this, not by its bytes.
void PrintTo(const Case& c, std::ostream* os) { *os << c.name; }

class Judge : public ::testing::TestWithParam<Case> {};

}  // namespace

TEST_P(Judge, PassesTheRightObservationAndFailsTheWrongOne) {
  const Case& c = GetParam();
  auto s = test::scenario(test::with_steps(c.name, kSteps, std::string("[expect]\n") + c.expect + "\n"));
  const auto good = evaluate(s, c.pass, c.pass_up, kTimeouts);
  EXPECT_EQ(good.kind, VerdictKind::pass) << good.reason;
  const auto bad = evaluate(s, c.fail, c.fail_up, kTimeouts);
  EXPECT_EQ(bad.kind, c.fail_kind) << bad.reason;
  EXPECT_NE(bad.reason.find(c.because), std::string::npos) << "wanted \"" << c.because << "\" in: " << bad.reason;
}

INSTANTIATE_TEST_SUITE_P(EveryExpectation, Judge, ::testing::ValuesIn(cases()),
                         [](const ::testing::TestParamInfo<Case>& p) { return std::string(p.param.name); });

// Patterns are compiled once, when the scenario loads: judging, however often, compiles none.
TEST(JudgePatterns, CompiledAtLoadNotAtEachJudgement) {
  auto s = test::scenario(test::with_steps(
      "patterns", kSteps,
      "[expect]\nstatus = 200\nheaders_match = [\"Via: 1\\\\.1 .+\"]\nraw_head = { status_line = \"HTTP/1\\\\.1 200 "
      ".*\", field_lines = [\"Via: .*\"] }\nupstream_request = { matching = [\"Host: .+\"] }\n"));
  auto c = complete(200, "", {{"Via", "1.1 proxy"}});
  c.raw = "HTTP/1.1 200 OK\r\nVia: 1.1 proxy\r\n\r\n";
  const auto up = received("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
  const auto before = Pattern::compiled();
  for (int i = 0; i < 50; ++i) {
    const auto v = evaluate(s, c, up, kTimeouts);
    ASSERT_EQ(v.kind, VerdictKind::pass) << v.reason;
  }
  EXPECT_EQ(Pattern::compiled(), before) << "judging compiled patterns again";
}

// The bound counts every attempt: HTTP/2 streams the upstream refused unserved (which count no
// request) too, so a proxy that keeps opening streams on a connection told to go away is caught.
TEST(JudgeUpstreamRequests, AtMostCountsRefusedStreams) {
  auto s = test::scenario(
      test::with_steps("bounded", kSteps, "[expect]\nstatus = 502\nupstream_requests = { at_most = 3 }\n"));
  auto up = requests(1);
  for (int i = 0; i < 3; ++i) {
    up.connections.emplace_back();
    up.connections.back().end = ConnectionEnd::refused_stream;
  }
  const auto bad = evaluate(s, complete(502), up, kTimeouts);
  EXPECT_EQ(bad.kind, VerdictKind::fail) << bad.reason;
  EXPECT_NE(bad.reason.find("4 requests reached the upstream (3 of them HTTP/2 streams it refused), more than the 3"),
            std::string::npos)
      << bad.reason;
  up.connections.pop_back();
  const auto good = evaluate(s, complete(502), up, kTimeouts);
  EXPECT_EQ(good.kind, VerdictKind::pass) << good.reason;
}

// The bound reads back as it was written, and a bound of 0 or a stray key is refused.
TEST(JudgeUpstreamRequests, AtMostLoadsAndRefusesNonsense) {
  auto s = test::scenario(
      test::with_steps("bounded", kSteps, "[expect]\nstatus = 502\nupstream_requests = { at_most = 10 }\n"));
  bool found = false;
  for (const auto& c : s.expect.accept.at(0).checks)
    if (c->key() == "upstream_requests") {
      EXPECT_EQ(c->toml(), "upstream_requests = { at_most = 10 }");
      EXPECT_EQ(c->describe(), "at most 10 upstream requests");
      found = true;
    }
  EXPECT_TRUE(found);
  for (const char* bad : {"upstream_requests = { at_most = 0 }", "upstream_requests = { at_least = 2 }",
                          "upstream_requests = { at_most = \"ten\" }"}) {
    EXPECT_FALSE(
        test::errors_of(test::with_steps("bounded", kSteps, std::string("[expect]\nstatus = 502\n") + bad + "\n"))
            .empty())
        << bad;
  }
}
