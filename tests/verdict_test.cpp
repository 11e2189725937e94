// Judging exchanges: each check passes on the right behaviour and fails on the wrong one.
#include <gtest/gtest.h>

#include "support.hpp"
#include "upfault/http.hpp"
#include "upfault/runner.hpp"
#include "upfault/verdict.hpp"

using namespace upfault;
using upfault::test::with_steps;
using namespace std::chrono_literals;

namespace {
using test::complete;
using test::ended;
const std::string kRespond =
    "[[upstream.steps]]\nread = \"head\"\n[[upstream.steps]]\n"
    "response = { status = 503, headers = [\"X-Why: maintenance\"], body = \"down\" }\n";
}  // namespace

TEST(Verdict, StatusPassesAndFailsWithAReadableReason) {
  auto s = test::scenario(with_steps("v", "[[upstream.steps]]\nread = \"head\"\n"));
  EXPECT_EQ(evaluate(s, complete(502, ""), test::asked(), {}).kind, VerdictKind::pass);
  auto v = evaluate(s, complete(200, "hello"), {}, {});
  EXPECT_EQ(v.kind, VerdictKind::fail);
  EXPECT_EQ(v.reason.rfind("expected 502, got 200 after 3 ms (body 5 bytes: \"hello\")", 0), 0u) << v.reason;
  EXPECT_NE(v.reason.find("never reached the upstream"), std::string::npos) << v.reason;
}

TEST(Verdict, PassthroughComparesStatusBodyAndHeaders) {
  auto s = test::scenario(with_steps("p", kRespond, "[expect]\npassthrough = true\n"));
  EXPECT_EQ(evaluate(s, complete(503, "down", {{"X-Why", "maintenance"}, {"Server", "proxy"}}), test::asked(), {}).kind,
            VerdictKind::pass);
  auto wrong_status = evaluate(s, complete(502, "down", {{"X-Why", "maintenance"}}), test::asked(), {});
  EXPECT_EQ(wrong_status.kind, VerdictKind::fail);
  EXPECT_NE(wrong_status.reason.find("upstream sent 503"), std::string::npos) << wrong_status.reason;
  auto wrong_body = evaluate(s, complete(503, "Bad Gateway page", {{"X-Why", "maintenance"}}), test::asked(), {});
  EXPECT_EQ(wrong_body.kind, VerdictKind::fail);
  EXPECT_NE(wrong_body.reason.find("body differs"), std::string::npos) << wrong_body.reason;
  auto lost_header = evaluate(s, complete(503, "down"), test::asked(), {});
  EXPECT_EQ(lost_header.kind, VerdictKind::fail);
  EXPECT_NE(lost_header.reason.find("header x-why is missing"), std::string::npos) << lost_header.reason;
}

TEST(Verdict, AbortedNeedsACloseOrReset) {
  auto s = test::scenario(with_steps("a", "[[upstream.steps]]\nread = \"head\"\n", "[expect]\naborted = true\n"));
  EXPECT_EQ(evaluate(s, test::cut_after_header(), test::asked(), {}).kind, VerdictKind::pass);
  EXPECT_EQ(evaluate(s, test::cut_after_header(Ending::reset), test::asked(), {}).kind, VerdictKind::pass);
  // Nothing at all is not aborted: the client was told nothing.
  for (auto e : {Ending::closed_early, Ending::reset}) {
    auto nothing = evaluate(s, ended(e), test::asked(), {});
    EXPECT_EQ(nothing.kind, VerdictKind::fail);
    EXPECT_NE(nothing.reason.find("no response at all is not an aborted response"), std::string::npos) << nothing.reason;
  }
  EXPECT_EQ(evaluate(s, complete(200, "hello"), test::asked(), {}).kind, VerdictKind::fail);
  auto hung = evaluate(s, ended(Ending::timed_out, 4000ms), test::asked(), {});
  EXPECT_EQ(hung.kind, VerdictKind::fail);
  EXPECT_NE(hung.reason.find("neither completed"), std::string::npos) << hung.reason;
}

TEST(Verdict, AlternativesAndStricterOutcomes) {
  auto s = test::scenario(with_steps("alt", "[[upstream.steps]]\nread = \"head\"\n",
                                     "[expect]\naborted = true\n[[expect.or]]\nstatus = 502\n"
                                     "[[expect.stricter]]\nstatus = 500\n"));
  EXPECT_EQ(evaluate(s, complete(502, ""), test::asked(), {}).kind, VerdictKind::pass);
  EXPECT_EQ(evaluate(s, test::cut_after_header(Ending::reset), test::asked(), {}).kind, VerdictKind::pass);
  auto strict = evaluate(s, complete(500, ""), test::asked(), {});
  EXPECT_EQ(strict.kind, VerdictKind::stricter);
  auto v = evaluate(s, complete(200, "x"), test::asked(), {});
  EXPECT_EQ(v.kind, VerdictKind::fail);
  EXPECT_EQ(v.reason.rfind("expected an aborted response or 502, got 200", 0), 0u) << v.reason;
}

TEST(Verdict, TimingBoundsUseTheProxyTimeouts) {
  auto s = test::scenario(
      with_steps("t", "[[upstream.steps]]\nread = \"head\"\n",
                 "[expect]\nstatus = 504\nwithin = \"2 * read_timeout\"\nnot_before = \"read_timeout\"\n"));
  ProxyTimeouts t{1000ms, 1000ms};
  EXPECT_EQ(evaluate(s, complete(504, "", {}, 1200ms), test::asked(), t).kind, VerdictKind::pass);
  auto late = evaluate(s, complete(504, "", {}, 2500ms), test::asked(), t);
  EXPECT_EQ(late.kind, VerdictKind::fail);
  EXPECT_NE(late.reason.find("later than within = \"2 * read_timeout\" (2.00 s)"), std::string::npos) << late.reason;
  auto early = evaluate(s, complete(504, "", {}, 10ms), test::asked(), t);
  EXPECT_EQ(early.kind, VerdictKind::fail);
  EXPECT_NE(early.reason.find("sooner than not_before"), std::string::npos) << early.reason;
  // The client waits past the bound, so a late answer is seen.
  EXPECT_GT(client_deadline(s, t, 100ms), 2000ms);
}

TEST(Verdict, UnreachableProxyIsAnErrorNotAFailure) {
  auto s = test::scenario(with_steps("u", "[[upstream.steps]]\nread = \"head\"\n"));
  auto c = ended(Ending::connect_failed);
  c.error = "cannot connect to 127.0.0.1:1: Connection refused";
  auto v = evaluate(s, c, test::asked(), {});
  EXPECT_EQ(v.kind, VerdictKind::error);
  EXPECT_NE(v.reason.find("could not reach the proxy"), std::string::npos);
}

TEST(Verdict, HeaderBodyInterimAndUpstreamCountChecks) {
  auto s = test::scenario(
      with_steps("h", "[[upstream.steps]]\nread = \"head\"\n",
                 "[expect]\nstatus = 200\nheader_present = [\"X-Public\"]\nheader_absent = [\"X-Private\"]\n"
                 "headers = [\"X-Public: yes\"]\nbody = \"ok\"\ninterim = [103]\nupstream_requests = 1\n"));
  UpstreamLog one;
  one.connections.push_back(ConnectionLog{});
  one.connections[0].requests = 1;
  auto good = complete(200, "ok", {{"X-Public", "yes"}});
  good.interim = {103};
  EXPECT_EQ(evaluate(s, good, one, {}).kind, VerdictKind::pass);

  auto check = [&](ClientResult c, const UpstreamLog& up, const std::string& needle) {
    auto v = evaluate(s, c, up, {});
    EXPECT_EQ(v.kind, VerdictKind::fail) << needle;
    EXPECT_NE(v.reason.find(needle), std::string::npos) << v.reason;
  };
  auto leaked = good;
  leaked.response->headers.push_back({"X-Private", "secret"});
  check(leaked, one, "header X-Private is present (\"secret\")");
  auto lost = good;
  lost.response->headers.clear();
  check(lost, one, "header X-Public is missing");
  auto changed = good;
  changed.response->headers = {{"X-Public", "no"}};
  check(changed, one, "header X-Public is \"no\", not \"yes\"");
  auto body = good;
  body.response->body = "other";
  check(body, one, "the body is not \"ok\"");
  auto no_interim = good;
  no_interim.interim.clear();
  check(no_interim, one, "no interim response arrived (wanted 103)");
  UpstreamLog retried = one;
  retried.connections.push_back(ConnectionLog{});
  retried.connections[1].requests = 1;
  check(good, retried, "2 requests reached the upstream, not 1");
}

TEST(Verdict, AcceptedLateTimeoutSaysHowLate) {
  auto s = test::scenario(with_steps("late", "[[upstream.steps]]\nread = \"head\"\n",
                                     "[expect]\nstatus = 504\nwithin = \"3 * read_timeout + 1s\"\n"));
  auto v = evaluate(s, complete(504, "", {}, 2400ms), test::asked(), ProxyTimeouts{1000ms, 1000ms});
  EXPECT_EQ(v.kind, VerdictKind::pass);
  EXPECT_NE(v.reason.find("[2.40 × read_timeout]"), std::string::npos) << v.reason;
}

TEST(Verdict, HeaderRegexChecks) {
  auto s = test::scenario(with_steps("re", "[[upstream.steps]]\nread = \"head\"\n",
                                     "[expect]\nstatus = 200\nheaders_match = [\"X-Folded: a +b\"]\n"));
  EXPECT_EQ(evaluate(s, complete(200, "", {{"X-Folded", "a   b"}}), test::asked(), {}).kind, VerdictKind::pass);
  auto v = evaluate(s, complete(200, "", {{"X-Folded", "ab"}}), test::asked(), {});
  EXPECT_EQ(v.kind, VerdictKind::fail);
  EXPECT_NE(v.reason.find("does not match /a +b/"), std::string::npos) << v.reason;
}

// A body cut short is counted in decoded bytes, whatever framing carried it.
TEST(Verdict, CutShortBodyIsCountedDecoded) {
  ClientResult c;
  c.ending = Ending::closed_early;
  c.header_complete = true;
  c.raw = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n wo";
  c.raw_total = c.raw.size();
  c.response = ResponseImage{200, "OK", {{"Transfer-Encoding", "chunked"}}, "hello wo"};
  c.body_size = 8;
  c.elapsed = 7ms;
  EXPECT_EQ(describe(c), "a 200 header, then the proxy closed the connection after 7 ms with 8 body bytes");
}

// A verdict about the upstream's answer needs the upstream to have been asked: a proxy that
// answers 502 on its own passes nothing. An outcome that counts upstream requests may hold anyway.
TEST(Verdict, TheUpstreamMustHaveSeenTheRequest) {
  auto s = test::scenario(with_steps("asked", kRespond, "[expect]\nstatus = 502\n"));
  EXPECT_EQ(evaluate(s, complete(502), test::asked(), {}).kind, VerdictKind::pass);
  auto never = evaluate(s, complete(502), {}, {});
  EXPECT_EQ(never.kind, VerdictKind::fail);
  EXPECT_NE(never.reason.find("never sent the request to the upstream"), std::string::npos) << never.reason;
  auto counted = test::scenario(with_steps("counted", kRespond, "[expect]\nstatus = 400\nupstream_requests = 0\n"));
  EXPECT_EQ(evaluate(counted, complete(400), {}, {}).kind, VerdictKind::pass);
}

// A request that reached the wrong place is a setup error, with the route to fix, never a verdict.
TEST(Verdict, MisroutingIsASetupError) {
  auto refused = test::scenario(
      "name = \"r\"\nsummary = \"s\"\nrfc = \"RFC 9110\"\nlevel = \"must\"\n[upstream]\nendpoint = \"refused\"\n"
      "[expect]\nstatus = 502\n");
  UpstreamLog misrouted = test::asked();
  misrouted.connections[0].end = ConnectionEnd::misrouted;
  misrouted.connections[0].ended = "the request (/__refused/__upfault/r) reached the scripted upstream";
  auto v = evaluate(refused, complete(502), misrouted, {});
  EXPECT_EQ(v.kind, VerdictKind::error);
  EXPECT_NE(v.reason.find("must route /__refused/ to the refused endpoint"), std::string::npos) << v.reason;
  EXPECT_NE(v.reason.find("--refused-port"), std::string::npos) << v.reason;
  // upfault's own upstream could not route the request (the proxy rewrote the path).
  auto s = test::scenario(with_steps("lost", kRespond, "[expect]\nstatus = 404\n"));
  auto unrouted = evaluate(s, complete(404, "upfault: no scenario", {{"X-Upfault-Setup", "misrouted"}}), test::asked(), {});
  EXPECT_EQ(unrouted.kind, VerdictKind::error);
  EXPECT_NE(unrouted.reason.find("must keep /__upfault/NAME in the path"), std::string::npos) << unrouted.reason;
}
