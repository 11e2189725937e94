// How the client classifies the end of an exchange, against scripted faults on real sockets.
#include <gtest/gtest.h>

#include "support.hpp"

using namespace upfault;
using upfault::test::with_steps;
using namespace std::chrono_literals;

namespace {
ClientResult run(const std::string& steps, Millis deadline = 3000ms) {
  auto s = test::scenario(with_steps("c", "[[upstream.steps]]\nread = \"head\"\n" + steps));
  test::Upstream up({s});
  return up.fetch(s, deadline);
}
}  // namespace

TEST(Client, CompleteResponse) {
  auto c =
      run("[[upstream.steps]]\nsend = \"HTTP/1.1 200 OK\\r\\nContent-Length: "
          "2\\r\\n\\r\\nok\"\n[[upstream.steps]]\nhang = true\n");
  EXPECT_EQ(c.ending, Ending::complete);  // complete at the last byte, not at the close
  EXPECT_EQ(c.response->body, "ok");
  ASSERT_TRUE(c.first_byte);
}

TEST(Client, CloseDelimitedBodyIsComplete) {
  auto c =
      run("[[upstream.steps]]\nsend = \"HTTP/1.1 200 OK\\r\\n\\r\\nall of it\"\n[[upstream.steps]]\nclose = \"fin\"\n");
  EXPECT_EQ(c.ending, Ending::complete);
  EXPECT_EQ(c.response->body, "all of it");
}

TEST(Client, ShortBodyIsClosedEarly) {
  auto c =
      run("[[upstream.steps]]\nsend = \"HTTP/1.1 200 OK\\r\\nContent-Length: "
          "10\\r\\n\\r\\nabc\"\n[[upstream.steps]]\nclose = \"fin\"\n");
  EXPECT_EQ(c.ending, Ending::closed_early);
  EXPECT_TRUE(c.header_complete);
  EXPECT_EQ(c.response->body, "abc");
}

TEST(Client, ResetIsReset) {
  auto c =
      run("[[upstream.steps]]\nsend = \"HTTP/1.1 200 OK\\r\\nContent-Length: "
          "10\\r\\n\\r\\nabc\"\n[[upstream.steps]]\ndelay = \"50ms\"\n[[upstream.steps]]\nclose = \"rst\"\n");
  EXPECT_EQ(c.ending, Ending::reset);
  EXPECT_TRUE(c.header_complete);
}

TEST(Client, SilenceTimesOut) {
  auto c = run("[[upstream.steps]]\nhang = true\n", 200ms);
  EXPECT_EQ(c.ending, Ending::timed_out);
  EXPECT_GE(c.elapsed, 150ms);
}

TEST(Client, GarbageIsInvalid) {
  auto c = run("[[upstream.steps]]\nsend = \"nonsense\\r\\n\\r\\n\"\n");
  EXPECT_EQ(c.ending, Ending::invalid);
  EXPECT_FALSE(c.error.empty());
  EXPECT_EQ(c.raw, "nonsense\r\n\r\n");
}

TEST(Client, NothingListeningIsConnectFailed) {
  test::Upstream up({});
  FetchOptions fo;
  fo.port = up.up.refused_port();
  auto c = fetch(fo, "GET / HTTP/1.1\r\n\r\n");
  EXPECT_EQ(c.ending, Ending::connect_failed);
  EXPECT_NE(c.error.find("refused"), std::string::npos) << c.error;
}

// The request on the wire: prefix before the path, Host and Connection added, body framed.
TEST(Client, RenderRequest) {
  Request r;
  r.method = "POST";
  r.path = "/p";
  r.body = "abc";
  EXPECT_EQ(render_request(r, "/__upfault/x", {{"X-Upfault-Scenario", "x"}}, "h:1"),
            "POST /__upfault/x/p HTTP/1.1\r\nHost: h:1\r\nContent-Length: 3\r\nConnection: close\r\n"
            "X-Upfault-Scenario: x\r\n\r\nabc");
}

// A folded field line from the proxy is invalid, though Beast would unfold it silently.
TEST(Client, ObsFoldFromTheProxyIsInvalid) {
  auto c =
      run("[[upstream.steps]]\nsend = \"HTTP/1.1 200 OK\\r\\nX-A: a\\r\\n b\\r\\nContent-Length: 2\\r\\n\\r\\nok\"\n");
  EXPECT_EQ(c.ending, Ending::invalid);
  EXPECT_NE(c.error.find("obs-fold"), std::string::npos) << c.error;
}

namespace {
// The scenario's requests sent straight to the fake upstream (no proxy), as its `connection` says.
struct Conversation {
  ClientResult last;
  UpstreamLog upstream;
};
Conversation converse_with(const std::string& mode, const std::string& steps, bool read_after = false) {
  auto s = test::scenario(with_steps(
      "k", "[request]\nrepeat = 2\nconnection = \"" + mode + "\"\n[[upstream.steps]]\nread = \"request\"\n" + steps));
  test::Upstream up({s});
  FetchOptions fo;
  fo.port = up.up.port();
  fo.deadline = 5000ms;
  fo.read_after = read_after;
  auto last = converse(fo, render_requests(s.request, route_prefix(s.name), {}, "127.0.0.1"), s.request.connections);
  return {std::move(last), up.up.log(s.name)};
}
const std::string kTwoAnswers =
    "[[upstream.steps]]\non_request = 1\nresponse = { status = 200, body = \"first\" }\n"
    "[[upstream.steps]]\non_request = 2\nresponse = { status = 200, body = \"second\" }\n";
}  // namespace

// Keep-alive and pipelined requests share one connection; each response is recorded in order.
TEST(Client, RequestsShareAPersistentConnection) {
  for (const std::string mode : {"keep-alive", "pipelined"}) {
    auto [last, upstream] = converse_with(mode, kTwoAnswers);
    ASSERT_EQ(last.ending, Ending::complete) << mode;
    EXPECT_EQ(last.response->body, "second") << mode;
    ASSERT_EQ(last.earlier.size(), 1u) << mode;
    EXPECT_EQ(last.earlier[0].response->body, "first") << mode;
    EXPECT_EQ(last.earlier[0].request, 1);
    EXPECT_EQ(last.request, 2);
    EXPECT_EQ(last.connections, 1) << mode;
    EXPECT_EQ(upstream.connection_count(), 1) << mode;  // the upstream saw both on one connection
    EXPECT_EQ(upstream.requests(), 2) << mode;
  }
  // "close": each request on its own connection.
  auto [last, upstream] = converse_with("close", kTwoAnswers);
  EXPECT_EQ(last.response->body, "second");
  EXPECT_EQ(last.connections, 2);
  EXPECT_EQ(upstream.connection_count(), 2);
}

// A response that says Connection: close (and a close after it) moves the next request to a new
// connection, as a client must (RFC 9112 §9.6).
TEST(Client, ConnectionCloseMovesTheNextRequestToANewConnection) {
  for (const std::string mode : {"keep-alive", "pipelined"}) {
    auto [last, upstream] = converse_with(
        mode,
        "[[upstream.steps]]\non_request = 1\nresponse = { status = 200, headers = [\"Connection: close\"], body = "
        "\"first\" }\n[[upstream.steps]]\non_request = 1\nclose = \"fin\"\n"
        "[[upstream.steps]]\non_request = 2\nresponse = { status = 200, body = \"second\" }\n");
    ASSERT_EQ(last.ending, Ending::complete) << mode << " " << last.error;
    EXPECT_EQ(last.response->body, "second") << mode;
    EXPECT_EQ(last.connections, 2) << mode;
  }
}

// Bytes past a response on a keep-alive connection arrived before the next request was sent:
// they are recorded as unasked, and read as the next response, as a client would (the desync).
TEST(Client, BytesPastAResponseAreRecordedAndReadAsTheNext) {
  auto [last, upstream] = converse_with(
      "keep-alive",
      "[[upstream.steps]]\non_request = 1\nsend = \"HTTP/1.1 200 OK\\r\\nContent-Length: 5\\r\\n\\r\\nfirst"
      "HTTP/1.1 200 OK\\r\\nContent-Length: 8\\r\\n\\r\\nsmuggled\"\n"
      "[[upstream.steps]]\non_request = 2\nresponse = { status = 200, body = \"second\" }\n");
  ASSERT_EQ(last.earlier.size(), 1u);
  EXPECT_EQ(last.earlier[0].after, "HTTP/1.1 200 OK\r\nContent-Length: 8\r\n\r\nsmuggled");
  ASSERT_EQ(last.ending, Ending::complete);
  EXPECT_EQ(last.response->body, "smuggled");
}

// With read_after the client reads on to the close and records what followed the last response.
TEST(Client, ReadsToTheCloseWhenAsked) {
  auto [last, upstream] =
      converse_with("close",
                    "[[upstream.steps]]\nsend = \"HTTP/1.1 200 OK\\r\\nContent-Length: 2\\r\\n\\r\\nok\"\n"
                    "[[upstream.steps]]\ndelay = \"50ms\"\n[[upstream.steps]]\nsend = "
                    "\"tail\"\n[[upstream.steps]]\nclose = \"fin\"\n",
                    /*read_after=*/true);
  ASSERT_EQ(last.ending, Ending::complete);
  EXPECT_EQ(last.after, "tail");
  EXPECT_EQ(last.after_total, 4u);
  EXPECT_TRUE(last.closed_after);
}
