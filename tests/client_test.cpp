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
