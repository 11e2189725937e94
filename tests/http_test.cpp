#include <fmt/format.h>
#include <gtest/gtest.h>

#include "upfault/http.hpp"

using namespace upfault;
using State = ResponseReader::State;

// A complete Content-Length response, fed one byte at a time, completes exactly at its end.
TEST(ResponseReader, ByteAtATimeCompletesAtTheEnd) {
  std::string wire = "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 4\r\nX-A: 1\r\n\r\ndown";
  ResponseReader r;
  for (std::size_t i = 0; i + 1 < wire.size(); ++i) ASSERT_EQ(r.feed(wire.substr(i, 1)), State::need_more) << i;
  ASSERT_EQ(r.feed(wire.substr(wire.size() - 1)), State::complete);
  EXPECT_EQ(r.response().status, 503);
  EXPECT_EQ(r.response().body, "down");
  EXPECT_EQ(r.response().headers.size(), 2u);
}

// A close-delimited body completes at EOF; a short Content-Length body does not.
TEST(ResponseReader, EofCompletesOnlyCloseDelimitedBodies) {
  ResponseReader open;
  open.feed("HTTP/1.1 200 OK\r\n\r\nuntil close");
  EXPECT_EQ(open.eof(), State::complete);
  EXPECT_EQ(open.response().body, "until close");

  ResponseReader cut;
  cut.feed("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly");
  EXPECT_EQ(cut.eof(), State::error);
  EXPECT_TRUE(cut.header_done());

  ResponseReader nothing;
  EXPECT_EQ(nothing.eof(), State::error);
}

// Interim 1xx responses are recorded and the final response follows.
TEST(ResponseReader, InterimResponsesAreCollected) {
  ResponseReader r;
  ASSERT_EQ(r.feed("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n"
                   "HTTP/1.1 204 No Content\r\n\r\n"),
            State::complete);
  EXPECT_EQ(r.interim(), (std::vector<int>{100, 103}));
  EXPECT_EQ(r.response().status, 204);
}

// Invalid responses are errors with a reason: bad status lines, bad framing.
TEST(ResponseReader, InvalidResponsesAreErrors) {
  for (std::string wire : {"garbage\r\n\r\n", "HTTP/1.1 2000 OK\r\n\r\n", "HTTP/1.1 20 OK\r\n\r\n",
                           "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab",
                           "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"}) {
    ResponseReader r;
    EXPECT_EQ(r.feed(wire), State::error) << wire;
    EXPECT_FALSE(r.error().empty());
  }
}

// A status code is three digits on the wire: one outside 100-599 (invalid, RFC 9110 §15) is read
// as sent, so a proxy that relays 999 is reported as "got 999", and the scenario judges it.
TEST(ResponseReader, StatusCodesOutsideTheRangeAreReadAsSent) {
  for (int code : {99, 600, 999}) {
    ResponseReader r;
    EXPECT_EQ(r.feed(fmt::format("HTTP/1.1 {:03} Odd\r\nContent-Length: 0\r\n\r\n", code)), State::complete);
    EXPECT_EQ(r.response().status, code);
  }
}

// Bytes after a complete response are handed over, not lost: they start the next response on the
// connection (or are bytes the proxy should never have sent).
TEST(ResponseReader, BytesPastTheEndAreHandedOver) {
  ResponseReader r;
  EXPECT_EQ(r.feed("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokHTTP/1.1 204 No"), State::complete);
  EXPECT_EQ(r.take_leftover(), "HTTP/1.1 204 No");
  EXPECT_EQ(r.take_leftover(), "");
  ResponseReader head(/*head_request=*/true);
  EXPECT_EQ(head.feed("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello"), State::complete);
  EXPECT_EQ(head.take_leftover(), "hello");
}

// HEAD responses end at the blank line whatever Content-Length says.
TEST(ResponseReader, HeadResponsesHaveNoBody) {
  ResponseReader r(/*head_request=*/true);
  EXPECT_EQ(r.feed("HTTP/1.1 200 OK\r\nContent-Length: 50\r\n\r\n"), State::complete);
}

// Bytes are shown to people with escapes, and cut.
TEST(Printable, EscapesAndCuts) {
  EXPECT_EQ(printable("a\r\n\x01\""), "a\\r\\n\\x01\\\"");
  EXPECT_EQ(printable(std::string(100, 'x'), 10), std::string(10, 'x') + "…");
}

// A valid header section of 1 MiB (what header-section-too-large sends) is a response a proxy may
// forward: the client reads it whole (it gave up at 64 KiB, a false "invalid"); past its limit
// it is an error, so memory stays bounded.
TEST(ResponseReader, HeaderSectionsUpToTheLimitAreRead) {
  std::string head = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n";
  for (int i = 1; i <= 1024; ++i) head += "X-Fill-" + std::to_string(i) + ": " + std::string(1000, 'f') + "\r\n";
  head += "\r\n";
  ASSERT_GT(head.size(), 1000u * 1024u);
  upfault::ResponseReader big(false, upfault::kBodyKeep, head.size() + 1024);
  EXPECT_EQ(big.feed(head + "ok"), upfault::ResponseReader::State::complete) << big.error();
  EXPECT_EQ(big.response().headers.size(), 1025u);
  upfault::ResponseReader small(false, upfault::kBodyKeep, 64 * 1024);
  EXPECT_EQ(small.feed(head + "ok"), upfault::ResponseReader::State::error);
  EXPECT_GE(upfault::kMinHeaderLimit, std::size_t{1} << 20);
}
