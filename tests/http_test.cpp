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

// A field line over 64 KiB is valid (RFC 9110 §5.4 sets no limit) and a proxy may forward it
// (Caddy does): the client reads it whole and reports exactly what arrived, however the bytes
// are split (Beast's basic_fields holds a field's sizes in 16 bits: it was an invalid response).
TEST(ResponseReader, FieldLinesOver64KiBAreReadExactly) {
  const std::string value(64 * 1024 + 1, 'v'), name = "X-" + std::string(70 * 1024, 'n');
  const std::string wire =
      "HTTP/1.1 200 OK\r\nX-Small: 1\r\nX-Big: " + value + "\r\n" + name + ": short\r\nContent-Length: 2\r\n\r\nok";
  for (std::size_t step : {wire.size(), std::size_t{4096}, std::size_t{1}}) {
    ResponseReader r;
    for (std::size_t at = 0; at < wire.size() && r.state() == State::need_more; at += step)
      r.feed(std::string_view(wire).substr(at, step));
    ASSERT_EQ(r.state(), State::complete) << step << ": " << r.error();
    const auto& headers = r.response().headers;
    ASSERT_EQ(headers.size(), 4u);
    EXPECT_EQ(headers[0], (Header{"X-Small", "1"}));
    EXPECT_EQ(headers[1].first, "X-Big");
    EXPECT_TRUE(headers[1].second == value) << "a value of " << headers[1].second.size() << " bytes";
    EXPECT_TRUE(headers[2].first == name) << "a name of " << headers[2].first.size() << " bytes";
    EXPECT_EQ(headers[3], (Header{"Content-Length", "2"}));
    EXPECT_EQ(r.response().body, "ok");
  }
}

// One field of almost 1 MiB fits the default header limit (1 MiB); past the limit the header is an
// error, so memory stays bounded however large the field.
TEST(ResponseReader, OneFieldUpToTheHeaderLimitIsRead) {
  const std::string head = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nX-Huge: ";
  const std::string value(kMinHeaderLimit - head.size() - 4 - 64, 'h');
  ResponseReader fits;
  EXPECT_EQ(fits.feed(head + value + "\r\n\r\n"), State::complete) << fits.error();
  ASSERT_EQ(fits.response().headers.size(), 2u);
  EXPECT_EQ(fits.response().headers[1].second.size(), value.size());
  ResponseReader over;
  EXPECT_EQ(over.feed(head + value + std::string(128, 'h') + "\r\n\r\n"), State::error);
  EXPECT_FALSE(over.header_done());
}

// A chunked body's trailer fields follow the header's in response().headers (where a check finds
// grpc-status), however the bytes were split: they were there only when the trailer section came
// in the same read as the header.
TEST(ResponseReader, TrailerFieldsFollowTheHeaderHoweverSplit) {
  const std::string wire =
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n7\r\npayload\r\n0\r\ngrpc-status: 13\r\n\r\n";
  for (std::size_t step : {wire.size(), std::size_t{1}}) {
    ResponseReader r;
    for (std::size_t at = 0; at < wire.size() && r.state() == State::need_more; at += step)
      r.feed(std::string_view(wire).substr(at, step));
    ASSERT_EQ(r.state(), State::complete) << step;
    EXPECT_EQ(r.response().headers, (std::vector<Header>{{"Transfer-Encoding", "chunked"}, {"grpc-status", "13"}}))
        << "fed " << step << " bytes at a time";
    EXPECT_EQ(r.response().body, "payload");
    EXPECT_EQ(r.response().headers.size(), 2u) << "asked again: the trailer is not added twice";
  }
}

// A scenario's own response is parsed whole whatever its header's size (the loader judges whether
// passthrough can apply to it): one field of 1 MiB and more is a response.
TEST(ParseCompleteResponse, OwnResponseWithAHeaderOverTheClientsLimit) {
  const std::string value(kMinHeaderLimit + 1, 'v');
  const auto parsed =
      parse_complete_response("HTTP/1.1 200 OK\r\nX-Fill-1: " + value + "\r\nContent-Length: 2\r\n\r\nok");
  ASSERT_TRUE(parsed);
  ASSERT_EQ(parsed->headers.size(), 2u);
  EXPECT_TRUE(parsed->headers[0].second == value);
  EXPECT_EQ(parsed->body, "ok");
}
