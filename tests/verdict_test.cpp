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

// A scenario's expected bytes are shown escaped: a newline in them never splits the reason's line.
TEST(Verdict, ExpectedBytesAreShownEscaped) {
  auto s = test::scenario(with_steps("e", "[[upstream.steps]]\nread = \"head\"\n",
                                     "[expect]\nstatus = 200\nbody = \"second\\ntry\"\n"
                                     "headers_match = { X-Why = \"a\\rb\" }\n"));
  auto v = evaluate(s, complete(502, ""), test::asked(), {});
  EXPECT_EQ(v.kind, VerdictKind::fail);
  EXPECT_EQ(v.reason.find_first_of("\r\n"), std::string::npos) << v.reason;
  EXPECT_NE(v.reason.find("body \"second\\ntry\""), std::string::npos) << v.reason;
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
    EXPECT_NE(nothing.reason.find("no response at all is not an aborted response"), std::string::npos)
        << nothing.reason;
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
  EXPECT_NE(v.reason.find("must route /__refused/ to the refused port"), std::string::npos) << v.reason;
  EXPECT_NE(v.reason.find("--refused-port"), std::string::npos) << v.reason;
  // upfault's own upstream could not route the request (the proxy rewrote the path).
  auto s = test::scenario(with_steps("lost", kRespond, "[expect]\nstatus = 404\n"));
  auto unrouted =
      evaluate(s, complete(404, "upfault: no scenario", {{"X-Upfault-Setup", "misrouted"}}), test::asked(), {});
  EXPECT_EQ(unrouted.kind, VerdictKind::error);
  EXPECT_NE(unrouted.reason.find("must keep /__upfault/NAME in the path"), std::string::npos) << unrouted.reason;
}

// The upstream refused the request because the proxy broke HTTP/2 sending it: a failure that says
// so, even when the client saw the status the scenario expects (the script never ran).
TEST(Verdict, ProxyThatBrokeTheProtocolFails) {
  auto s = test::scenario(
      with_steps("h2", "[upstream]\nprotocol = \"h2c\"\n[[upstream.steps]]\nh2_rst_stream = \"cancel\"\n"));
  UpstreamLog broke = test::asked();
  broke.connections[0].end = ConnectionEnd::protocol_error;
  broke.connections[0].ended = "protocol error: the proxy sent HEADERS on stream 0 (RFC 9113 §6.2)";
  auto v = evaluate(s, complete(502), broke, {});
  EXPECT_EQ(v.kind, VerdictKind::fail);
  EXPECT_NE(
      v.reason.find("broke the protocol towards the upstream: protocol error: the proxy sent HEADERS on stream 0"),
      std::string::npos)
      << v.reason;
}

// Each response of a repeated exchange is expected, not only the last: earlier_status fails on an
// earlier response that was not complete with that status.
TEST(Verdict, EarlierResponsesAreJudged) {
  auto s = test::scenario(with_steps("e", "[request]\nrepeat = 2\nconnection = \"keep-alive\"\n" + kRespond,
                                     "[expect]\nearlier_status = 200\nstatus = 503\n"));
  auto two = [](ClientResult first) {
    auto c = complete(503, "down");
    first.request = 1;
    c.request = c.requests = first.requests = 2;
    c.earlier.push_back(std::move(first));
    return c;
  };
  EXPECT_EQ(evaluate(s, two(complete(200, "first")), test::asked(2), {}).kind, VerdictKind::pass);
  auto wrong = evaluate(s, two(complete(502)), test::asked(2), {});
  EXPECT_EQ(wrong.kind, VerdictKind::fail);
  EXPECT_NE(wrong.reason.find("the response to request 1 was 502"), std::string::npos) << wrong.reason;
  EXPECT_NE(wrong.reason.find("the client sent 2 requests on 1 connection(s), the earlier answered 502"),
            std::string::npos)
      << wrong.reason;
  EXPECT_EQ(evaluate(s, two(ended(Ending::reset)), test::asked(2), {}).kind, VerdictKind::fail);
  // Bytes that came past an earlier response, unasked, are named in the reason.
  auto smuggling = complete(502);
  smuggling.after = "HTTP/1.1 200 OK";
  smuggling.after_total = smuggling.after.size();
  const auto named = evaluate(s, two(smuggling), test::asked(2), {}).reason;
  EXPECT_NE(named.find("502 followed by 15 bytes sent unasked"), std::string::npos) << named;
  // A result without the earlier responses (a client that never sent them) cannot pass.
  EXPECT_EQ(evaluate(s, complete(503, "down"), test::asked(2), {}).kind, VerdictKind::fail);
}

// Bytes after the complete response are judged: a proxy that relays what the upstream sent past
// the end of its response fails after_response = "".
TEST(Verdict, BytesAfterTheResponseAreJudged) {
  auto s = test::scenario(with_steps("a", kRespond, "[expect]\nstatus = 503\nafter_response = \"\"\n"));
  EXPECT_TRUE(s.reads_past_response());
  auto closed = complete(503, "down");
  closed.closed_after = true;
  EXPECT_EQ(evaluate(s, closed, test::asked(), {}).kind, VerdictKind::pass);
  // A proxy that holds the connection open after Connection: close has not shown what follows.
  auto held = evaluate(s, complete(503, "down"), test::asked(), {});
  EXPECT_EQ(held.kind, VerdictKind::fail);
  EXPECT_NE(held.reason.find("did not close the connection after the response"), std::string::npos) << held.reason;
  auto relayed = closed;
  relayed.after = relayed.response->body + "HTTP/1.1 200 OK";
  relayed.after_total = relayed.after.size();
  auto v = evaluate(s, relayed, test::asked(), {});
  EXPECT_EQ(v.kind, VerdictKind::fail);
  EXPECT_NE(v.reason.find("the proxy sent 19 bytes after the complete response: \"downHTTP/1.1 200 OK\""),
            std::string::npos)
      << v.reason;
}

// The status line and field lines as received: case, spacing and reason phrase count.
TEST(Verdict, RawHeadLinesAreJudgedAsReceived) {
  auto s = test::scenario(
      with_steps("r", kRespond,
                 "[expect]\nstatus = 502\nraw_head = { status_line = 'HTTP/1\\.1 502 Bad Gateway', field_lines = "
                 "['Content-Length: \\d+'] }\n"));
  auto with_raw = [](std::string raw) {
    auto c = complete(502);
    c.raw = std::move(raw);
    c.raw_total = c.raw.size();
    return c;
  };
  EXPECT_EQ(evaluate(s, with_raw("HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n"), test::asked(), {}).kind,
            VerdictKind::pass);
  auto reason = evaluate(s, with_raw("HTTP/1.1 502 Oops\r\nContent-Length: 0\r\n\r\n"), test::asked(), {}).reason;
  EXPECT_NE(reason.find("the status line was \"HTTP/1.1 502 Oops\""), std::string::npos) << reason;
  reason = evaluate(s, with_raw("HTTP/1.1 502 Bad Gateway\r\ncontent-length:0\r\n\r\n"), test::asked(), {}).reason;
  EXPECT_NE(reason.find("no field line matches"), std::string::npos) << reason;
  // Interim heads before the final one are skipped.
  auto interim =
      with_raw("HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\nHTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n");
  interim.interim = {103};
  EXPECT_EQ(evaluate(s, interim, test::asked(), {}).kind, VerdictKind::pass);
}

// No response at all satisfies only an outcome that says why the RFC allows it.
TEST(Verdict, NoResponseOnlyWhereTheScenarioSaysWhy) {
  auto s = test::scenario(with_steps("n", kRespond, "[expect]\nno_response = \"RFC 9112 §9.6: a reason here\"\n"));
  EXPECT_EQ(evaluate(s, ended(Ending::closed_early), test::asked(), {}).kind, VerdictKind::pass);
  EXPECT_EQ(evaluate(s, ended(Ending::reset), test::asked(), {}).kind, VerdictKind::pass);
  EXPECT_EQ(evaluate(s, test::cut_after_header(), test::asked(), {}).kind, VerdictKind::fail);
  EXPECT_EQ(evaluate(s, complete(502), test::asked(), {}).kind, VerdictKind::fail);
  EXPECT_EQ(evaluate(s, ended(Ending::timed_out), test::asked(), {}).kind, VerdictKind::fail);
  EXPECT_FALSE(test::errors_of(with_steps("n", kRespond, "[expect]\nno_response = \"ok\"\n")).empty());
}

// What the upstream received: field values by pattern, the body whole, the connection count.
TEST(Verdict, UpstreamSideFieldsBodyAndConnections) {
  auto s = test::scenario(with_steps("u", "[request]\nmethod = \"POST\"\nbody = \"hello\"\n" + kRespond,
                                     "[expect]\nstatus = 503\nupstream_connections = 1\n"
                                     "upstream_request = { matching = ['Via: 1\\.1 .*'], body_intact = true }\n"));
  auto up = [](std::string received) {
    auto log = test::asked();
    log.connections[0].received = std::move(received);
    return log;
  };
  const auto head = std::string("POST /x HTTP/1.1\r\nHost: h\r\nVia: 1.1 proxy\r\n");
  const auto good = complete(503, "down");
  EXPECT_EQ(evaluate(s, good, up(head + "Content-Length: 5\r\n\r\nhello"), {}).kind, VerdictKind::pass);
  EXPECT_EQ(evaluate(s, good, up(head + "Transfer-Encoding: chunked\r\n\r\n2\r\nhe\r\n3\r\nllo\r\n0\r\n\r\n"), {}).kind,
            VerdictKind::pass);
  auto cut = evaluate(s, good, up(head + "Content-Length: 5\r\n\r\nhel"), {});
  EXPECT_NE(cut.reason.find("did not receive a whole request body"), std::string::npos) << cut.reason;
  auto other = evaluate(s, good, up(head + "Content-Length: 5\r\n\r\nHELLO"), {});
  EXPECT_NE(other.reason.find("received the body \"HELLO\""), std::string::npos) << other.reason;
  auto no_via = evaluate(s, good, up("POST /x HTTP/1.1\r\nVia: 2.0 x\r\nContent-Length: 5\r\n\r\nhello"), {});
  EXPECT_NE(no_via.reason.find("had Via: \"2.0 x\", which does not match"), std::string::npos) << no_via.reason;
  auto two = up(head + "Content-Length: 5\r\n\r\nhello");
  two.connections.emplace_back();
  auto twice = evaluate(s, good, two, {});
  EXPECT_NE(twice.reason.find("the scenario's requests came on 2 upstream connections, not 1"), std::string::npos)
      << twice.reason;
}

// A status outside 100-599 can be expected (or reported) as sent: "got 999", not "invalid".
TEST(Verdict, ThreeDigitStatusesOutsideTheRange) {
  auto s = test::scenario(with_steps("s", kRespond, "[expect]\nstatus = 502\n"));
  auto v = evaluate(s, complete(999), test::asked(), {});
  EXPECT_EQ(v.kind, VerdictKind::fail);
  EXPECT_EQ(v.reason.rfind("expected 502, got 999", 0), 0u) << v.reason;
  auto odd = test::scenario(with_steps("o", kRespond, "[expect]\nstatus = 99\n"));
  EXPECT_EQ(evaluate(odd, complete(99), test::asked(), {}).kind, VerdictKind::pass);
  EXPECT_EQ(evaluate(odd, complete(99), test::asked(), {}).reason.rfind("099 after", 0), 0u);
}

// One evaluate decides from all the evidence: a crash while handling the scenario alone is its
// failure; a death during a parallel run makes an exchange with no complete response an error
// (a complete one keeps its verdict); --strict turns stricter into a failure; a setup note
// explains a failed TLS scenario the upstream never saw a request of.
TEST(Evaluate, EveryFactOfTheEvidenceIsJudgedInOnePlace) {
  auto s = test::scenario(with_steps("ev", "[[upstream.steps]]\nread = \"head\"\n",
                                     "[expect]\nstatus = 502\n[[expect.stricter]]\nstatus = 500\n"));
  ScenarioResult e;
  e.client = complete(502, "");
  e.upstream = test::asked();
  EXPECT_EQ(evaluate(s, e, {}).kind, VerdictKind::pass);

  ScenarioResult crashed = e;
  crashed.client = ended(Ending::closed_early);
  crashed.proxy_crash = "killed by signal 11";
  auto v = evaluate(s, crashed, {});
  EXPECT_EQ(v.kind, VerdictKind::fail);
  EXPECT_NE(v.reason.find("the proxy crashed while handling this scenario (killed by signal 11)"), std::string::npos)
      << v.reason;

  ScenarioResult died = crashed;
  died.proxy_crash.clear();
  died.proxy_died = "nginx killed by signal 11";
  v = evaluate(s, died, {});
  EXPECT_EQ(v.kind, VerdictKind::error);
  EXPECT_NE(v.reason.find("the proxy died during the run (nginx killed by signal 11)"), std::string::npos) << v.reason;
  died.client = complete(502, "");  // answered before the death: judged as it is
  EXPECT_EQ(evaluate(s, died, {}).kind, VerdictKind::pass);

  ScenarioResult stricter = e;
  stricter.client = complete(500, "");
  EXPECT_EQ(evaluate(s, stricter, {}).kind, VerdictKind::stricter);
  v = evaluate(s, stricter, {.timeouts = {}, .strict = true});
  EXPECT_EQ(v.kind, VerdictKind::fail);
  EXPECT_NE(v.reason.find("which --strict counts as a failure"), std::string::npos) << v.reason;
}

TEST(Evaluate, SetupNotesExplainOnlyAFailedTlsScenarioTheUpstreamNeverSaw) {
  auto tls =
      test::scenario(with_steps("tls", "[upstream]\nprotocol = \"https\"\n[[upstream.steps]]\nread = \"head\"\n"));
  ScenarioResult e;
  e.client = complete(200, "hello");
  e.setup.tls_refusal = "tlsv1 alert unknown ca";
  ASSERT_TRUE(tls_setup_may_explain(tls, e));
  auto v = evaluate(tls, e, {});
  EXPECT_EQ(v.kind, VerdictKind::error);
  EXPECT_NE(v.reason.find("setup: the proxy refused upfault's valid TLS certificate (tlsv1 alert unknown ca)"),
            std::string::npos)
      << v.reason;
  e.setup = {.tls_on_plain = "the proxy started a TLS handshake on upfault's plaintext scripted port",
             .plain_on_tls = "",
             .tls_refusal = ""};
  EXPECT_EQ(evaluate(tls, e, {}).reason.rfind("setup: the proxy started a TLS handshake", 0), 0u);
  // Once the upstream saw a request, the TLS setup worked: the failure is the proxy's.
  e.upstream = test::asked();
  EXPECT_EQ(evaluate(tls, e, {}).kind, VerdictKind::fail);
  // A plaintext scenario is never explained by a TLS note.
  auto plain = test::scenario(with_steps("plain", "[[upstream.steps]]\nread = \"head\"\n"));
  e.upstream = {};
  EXPECT_EQ(evaluate(plain, e, {}).kind, VerdictKind::fail);
}

// Plain HTTP reached the scenario's TLS port: an error whatever the client saw, a pass included
// (a certificate scenario passes on the 502 of a failed plain exchange).
TEST(Evaluate, PlainHttpToTheScenariosTlsPortIsAnErrorEvenWhenItWouldPass) {
  auto tls =
      test::scenario(with_steps("tls-502", "[upstream]\nprotocol = \"https\"\n[[upstream.steps]]\nread = \"head\"\n",
                                "[expect]\nstatus = 502\n"));
  ScenarioResult e;
  e.client = complete(502, "bad gateway");
  e.upstream = test::asked();
  ASSERT_EQ(evaluate(tls, e, {}).kind, VerdictKind::pass) << evaluate(tls, e, {}).reason;
  e.setup.plain_on_tls = "the proxy sent plain HTTP to upfault's TLS tls port: its route must reach that port over TLS";
  const auto v = evaluate(tls, e, {});
  EXPECT_EQ(v.kind, VerdictKind::error);
  EXPECT_EQ(v.reason.rfind("setup: the proxy sent plain HTTP to upfault's TLS tls port", 0), 0u) << v.reason;
  EXPECT_NE(v.reason.find("(the proxy answered: 502"), std::string::npos) << v.reason;
}

// The upstream refused the request's HTTP/2 stream and the proxy did not retry it: not tested (an
// error), even when the client's answer matches; once retried and served, judged as usual.
TEST(Verdict, RefusedStreamNotRetriedIsNotTested) {
  auto s = test::scenario(with_steps("v", kRespond));
  UpstreamLog refused;
  refused.connections.emplace_back();
  refused.connections[0].end = ConnectionEnd::refused_stream;
  refused.connections[0].ended = "refused: stream 3 arrived on the upstream connection serving scenario x";
  const auto v = evaluate(s, complete(502, ""), refused, {});
  EXPECT_EQ(v.kind, VerdictKind::error) << v.reason;
  EXPECT_NE(v.reason.find("did not retry it"), std::string::npos) << v.reason;
  auto again = refused;
  again.connections.push_back(refused.connections[0]);  // retried, and refused again
  const auto twice = evaluate(s, ended(Ending::timed_out), again, {});
  EXPECT_EQ(twice.kind, VerdictKind::error) << twice.reason;
  EXPECT_NE(twice.reason.find("the proxy retried it, but each of its 2 attempts"), std::string::npos) << twice.reason;
  auto retried = test::asked();
  retried.connections.push_back(refused.connections[0]);
  EXPECT_EQ(evaluate(s, complete(502, ""), retried, {}).kind, VerdictKind::pass);
}

// Served once (a GOAWAY below its stream, say), then the proxy's retry refused on a connection
// serving another scenario: a real origin would have served the retry, so a failure after it is an
// error (and rerun alone), never a verdict. The same refusal on the scenario's own connection
// (a stream the proxy opened after that connection's GOAWAY) is the proxy's doing: a failure.
TEST(Verdict, RetryRefusedOnAnotherScenariosConnectionIsNotAVerdict) {
  auto s = test::scenario(with_steps("v", kRespond));
  ScenarioResult e;
  e.client = ended(Ending::timed_out);
  e.upstream = test::asked();
  ConnectionLog refused;
  refused.end = ConnectionEnd::refused_stream;
  refused.reused = true;
  refused.ended = "refused: stream 7 arrived on the upstream connection serving scenario x (stream 3)";
  e.upstream.connections.push_back(refused);
  ASSERT_TRUE(refused_elsewhere(e.upstream));
  const auto v = evaluate(s, e, {});
  EXPECT_EQ(v.kind, VerdictKind::error) << v.reason;
  EXPECT_NE(v.reason.find("the proxy's retry) was not served: refused: stream 7"), std::string::npos) << v.reason;
  e.upstream.connections.back().reused = false;  // its own connection
  EXPECT_FALSE(refused_elsewhere(e.upstream));
  EXPECT_EQ(evaluate(s, e, {}).kind, VerdictKind::fail);
  e.upstream.connections.back().reused = true;
  e.client = complete(502, "");  // what it accepts stays a pass
  EXPECT_EQ(evaluate(s, e, {}).kind, VerdictKind::pass);
}
