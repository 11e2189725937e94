// HTTP/2 on the fake upstream, seen from a raw client on a loopback socket: what the proxy sends
// that RFC 9113 refuses is answered with the RFC's error frame and never served, and the frames the
// h2_* steps send carry what the scenario wrote.
#include <gtest/gtest.h>

#include "h2/frame.hpp"
#include "h2_client.hpp"
#include "support.hpp"

using namespace upfault;
using upfault::test::h2_exchange;
using upfault::test::h2_preface;
using upfault::test::h2_priority;
using upfault::test::h2_request_block;
using upfault::test::H2Answer;
using upfault::test::with_steps;

namespace {

const std::string kPath = "/__h2c/__upfault/h2-ok/";

Scenario served() {
  return test::scenario(with_steps("h2-ok", R"(
[upstream]
protocol = "h2c"
[[upstream.steps]]
h2_response = { status = 200, body = "ok" }
)"));
}

// The request's HEADERS on `stream`, with `flags` besides END_HEADERS and END_STREAM, and `prefix`
// (priority fields) before the block.
std::string request(std::uint32_t stream, std::uint8_t flags = 0, const std::string& prefix = "") {
  return h2::serialize_frame(h2::kHeaders, h2::kEndHeaders | h2::kEndStream | flags, stream,
                             prefix + h2_request_block(kPath));
}

// The one log entry of the scenario; it ended as a protocol error naming `what`.
void expect_logged_refusal(test::Upstream& up, const std::string& what) {
  auto log = up.up.log("h2-ok");
  ASSERT_EQ(log.connections.size(), 1u);
  EXPECT_EQ(log.connections[0].end, ConnectionEnd::protocol_error) << log.connections[0].ended;
  EXPECT_NE(log.connections[0].ended.find(what), std::string::npos) << log.connections[0].ended;
}

}  // namespace

// HEADERS on stream 0: a connection error PROTOCOL_ERROR (RFC 9113 §6.2), not a request ignored.
TEST(H2Refusal, HeadersOnStreamZeroIsAConnectionError) {
  test::Upstream up({served()});
  auto got = h2_exchange(up.up.port(), h2_preface() + request(0));
  const auto goaway = got.goaway();
  ASSERT_TRUE(goaway) << got.text();
  EXPECT_EQ(goaway->code, h2::kProtocolError) << got.text();
  EXPECT_EQ(goaway->last_stream, 0u);
  EXPECT_EQ(got.count(h2::kHeaders), 0u) << got.text();
  EXPECT_TRUE(got.closed) << got.text();
  expect_logged_refusal(up, "HEADERS on stream 0 (RFC 9113 §6.2)");
}

// A client's streams are odd: HEADERS on stream 2 is a connection error PROTOCOL_ERROR (§5.1.1).
TEST(H2Refusal, EvenStreamFromTheProxyIsAConnectionError) {
  test::Upstream up({served()});
  auto got = h2_exchange(up.up.port(), h2_preface() + request(2));
  const auto goaway = got.goaway();
  ASSERT_TRUE(goaway) << got.text();
  EXPECT_EQ(goaway->code, h2::kProtocolError) << got.text();
  EXPECT_EQ(got.count(h2::kHeaders), 0u) << got.text();
  EXPECT_EQ(got.count(h2::kData), 0u) << got.text();
  expect_logged_refusal(up, "HEADERS on stream 2, an even id");
}

// A stream that depends on itself — in its HEADERS, in a PRIORITY frame after them, or in one
// before them — is reset with PROTOCOL_ERROR (§5.3.1) and not served.
TEST(H2Refusal, StreamDependingOnItselfIsReset) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"in HEADERS", request(1, h2::kPriorityFlag, h2_priority(1))},
      {"PRIORITY after", request(1) + h2::serialize_frame(h2::kPriority, 0, 1, h2_priority(1))},
      {"PRIORITY before", h2::serialize_frame(h2::kPriority, 0, 1, h2_priority(1)) + request(1)},
  };
  for (const auto& [name, frames] : cases) {
    SCOPED_TRACE(name);
    test::Upstream up({served()});
    auto got = h2_exchange(up.up.port(), h2_preface() + frames);
    const auto rst = got.rst_stream();
    ASSERT_TRUE(rst) << got.text();
    EXPECT_EQ(rst->stream, 1u);
    EXPECT_EQ(rst->code, h2::kProtocolError);
    EXPECT_EQ(got.count(h2::kHeaders), 0u) << got.text();
    expect_logged_refusal(up, "depend on itself (RFC 9113 §5.3.1)");
  }
}

// A PRIORITY frame is 5 bytes (RFC 9113 §6.3): one of 6 on a stream not open, before the request,
// is refused with GOAWAY FRAME_SIZE_ERROR (RST_STREAM may not name an idle stream) and nothing is served.
TEST(H2Refusal, PriorityOfTheWrongSizeIsAFrameSizeError) {
  test::Upstream up({served()});
  auto got = h2_exchange(up.up.port(),
                         h2_preface() + h2::serialize_frame(h2::kPriority, 0, 3, h2_priority(1) + "x") + request(1));
  const auto goaway = got.goaway();
  ASSERT_TRUE(goaway) << got.text();
  EXPECT_EQ(goaway->code, h2::kFrameSizeError) << got.text();
  EXPECT_EQ(got.count(h2::kHeaders), 0u) << got.text();
  EXPECT_TRUE(got.closed) << got.text();
}

// A frame of 16385 bytes (over the SETTINGS_MAX_FRAME_SIZE the upstream advertises: the default
// 16384) is a connection error FRAME_SIZE_ERROR (§4.2); one of 16384 bytes is accepted. An
// unknown frame type, which a receiver otherwise ignores (§5.5), carries the size.
TEST(H2Refusal, FrameOverMaxFrameSizeIsAConnectionError) {
  test::Upstream up({served()});
  const auto unknown = [](std::size_t size) { return h2::serialize_frame(0xfa, 0, 0, std::string(size, 'x')); };
  auto over = h2_exchange(up.up.port(), h2_preface() + unknown(h2::kDefaultMaxFrame + 1) + request(1));
  const auto goaway = over.goaway();
  ASSERT_TRUE(goaway) << over.text();
  EXPECT_EQ(goaway->code, h2::kFrameSizeError) << over.text();
  EXPECT_EQ(over.count(h2::kHeaders), 0u) << over.text();
  EXPECT_TRUE(over.closed) << over.text();

  auto at = h2_exchange(up.up.port(), h2_preface() + unknown(h2::kDefaultMaxFrame) + request(1), Millis{3000},
                        [](const H2Answer& a) { return a.stream_over(1); });
  EXPECT_FALSE(at.goaway()) << at.text();
  EXPECT_EQ(at.count(h2::kHeaders), 1u) << at.text();
}

// h2_rst_stream sends RST_STREAM with the code the scenario names (by name or number; CANCEL
// by default) on the request's stream, or on the stream it names.
TEST(H2Steps, RstStreamSendsTheScenarioCodeOnItsStream) {
  struct Case {
    std::string step;
    std::uint32_t stream;
    std::uint32_t code;
  };
  const std::vector<Case> cases = {
      {"h2_rst_stream = \"internal_error\"", 1, 2},
      {"h2_rst_stream = { error = \"refused_stream\" }", 1, 7},
      {"h2_rst_stream = { error = 4660 }", 1, 4660},
      {"h2_rst_stream = {}", 1, 8},
      {"h2_rst_stream = { error = \"enhance_your_calm\", stream = 5 }", 5, 11},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.step);
    auto s = test::scenario(with_steps("rst", "[upstream]\nprotocol = \"h2c\"\n[[upstream.steps]]\n" + c.step + "\n"));
    test::Upstream up({s});
    auto got = h2_exchange(up.up.port(),
                           h2_preface() + h2::serialize_frame(h2::kHeaders, h2::kEndHeaders | h2::kEndStream, 1,
                                                              h2_request_block("/__h2c/__upfault/rst/")),
                           Millis{3000}, [](const H2Answer& a) { return a.count(h2::kRstStream) > 0; });
    ASSERT_EQ(got.count(h2::kRstStream), 1u) << got.text();
    const auto rst = got.rst_stream();
    ASSERT_TRUE(rst) << got.text();
    EXPECT_EQ(rst->stream, c.stream);
    EXPECT_EQ(rst->code, c.code);
    EXPECT_FALSE(got.goaway()) << got.text();  // the script ends as written
  }
}
