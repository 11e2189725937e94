// HTTP/2 on the fake upstream: the frame and HPACK codec, and the server mode seen from a raw
// HTTP/2 client on a loopback socket.
#include <gtest/gtest.h>

#include <boost/asio.hpp>

#include "h2/frame.hpp"
#include "h2/hpack.hpp"
#include "h2_client.hpp"
#include "support.hpp"

using namespace upfault;
using upfault::test::with_steps;
namespace asio = boost::asio;
using tcp = asio::ip::tcp;

// A frame survives serialisation and the bounded reader takes exactly one.
TEST(H2Frame, RoundTripsThroughTheBoundedReader) {
  std::string buf = h2::serialize_frame(h2::kHeaders, h2::kEndHeaders, 0x80000003u, "abc") + "x";
  h2::Frame f;
  ASSERT_EQ(h2::take_frame(buf, 16384, f), h2::Take::frame);
  EXPECT_EQ(f.header.type, h2::kHeaders);
  EXPECT_EQ(f.header.flags, h2::kEndHeaders);
  EXPECT_EQ(f.header.stream, 3u);  // the reserved bit is dropped
  EXPECT_EQ(f.payload, "abc");
  EXPECT_EQ(buf, "x");
  EXPECT_EQ(h2::take_frame(buf, 16384, f), h2::Take::incomplete);
}

// A declared length over the limit is refused before any payload is buffered.
TEST(H2Frame, OversizedFrameIsRefusedFromItsHeader) {
  std::string buf = h2::serialize_frame_raw(0xffffff, h2::kData, 0, 1, "");
  h2::Frame f;
  EXPECT_EQ(h2::take_frame(buf, 16384, f), h2::Take::too_large);
  EXPECT_EQ(buf.size(), h2::kFrameHeaderSize);
}

// Names of frame types and error codes read both ways.
TEST(H2Frame, NamesAndCodes) {
  EXPECT_EQ(h2::type_from_name("push_promise"), h2::kPushPromise);
  EXPECT_EQ(h2::type_from_name("nope"), std::nullopt);
  EXPECT_EQ(h2::error_from_name("refused_stream"), 7u);
  EXPECT_EQ(h2::error_name(9), "COMPRESSION_ERROR");
  h2::Frame goaway{{8, h2::kGoaway, 0, 0}, std::string("\0\0\0\x05\0\0\0\x02", 8)};
  EXPECT_EQ(h2::describe(goaway), "GOAWAY stream 0 flags 0x00 length 8 last-stream 5 INTERNAL_ERROR");
}

// HPACK keeps what is written, invalid fields included, across blocks (the dynamic table).
TEST(H2Hpack, EncodesAnyListAndDecodesIt) {
  h2::Encoder enc;
  h2::Decoder dec;
  const std::vector<h2::Field> fields = {{":status", "200"}, {"X-Upper", "1"}, {"connection", "close"}};
  for (int i = 0; i < 2; ++i) {
    auto block = enc.encode(fields);
    ASSERT_TRUE(block);
    auto out = dec.decode(*block);
    ASSERT_TRUE(out) << out.error();
    EXPECT_EQ(*out, fields);
  }
}

// A block that refers past both tables, and one over the list limit, fail with a reason.
TEST(H2Hpack, UndecodableAndOversizedBlocksFail) {
  h2::Decoder dec;
  EXPECT_FALSE(dec.decode(std::string("\x88\xfe", 2)));
  h2::Encoder enc;
  h2::Decoder small(100);
  auto block = enc.encode({{"x-big", std::string(200, 'a')}});
  ASSERT_TRUE(block);
  EXPECT_EQ(small.decode(*block).error().message, "header list over the size limit");
}

namespace {

// A raw HTTP/2 client: sends the preface, SETTINGS and a GET for `path`, then reads every frame
// until the upstream closes (it ends each connection with GOAWAY and FIN once the script is done).
std::string request_bytes(const std::string& path) {
  h2::Encoder enc;
  auto block = enc.encode({{":method", "GET"}, {":scheme", "http"}, {":authority", "x"}, {":path", path}});
  std::string out(h2::kPreface);
  out += h2::serialize_frame(h2::kSettings, 0, 0, "");
  out += h2::serialize_frame(h2::kHeaders, h2::kEndHeaders | h2::kEndStream, 1, *block);
  return out;
}

// The frames the upstream sent for a GET of `path` on stream 1, until that stream ended, a GOAWAY
// came or the upstream closed.
std::vector<h2::Frame> exchange(unsigned short port, const std::string& path) {
  return test::h2_exchange(port, request_bytes(path), std::chrono::milliseconds(5000),
                           [](const test::H2Answer& a) { return a.stream_over(1) || a.goaway(); })
      .frames;
}

}  // namespace

// h2_response: SETTINGS, the ACK of ours, HEADERS and DATA on the request's stream, then GOAWAY
// naming that stream; the log holds the request as an HTTP/1.1-like head.
TEST(H2Server, ServesAScriptedResponseAndLogsTheRequest) {
  auto s = test::scenario(with_steps("h2-ok", R"(
[upstream]
protocol = "h2c"
[[upstream.steps]]
h2_response = { status = 201, headers = ["x-a: 1"], body = "made" }
)"));
  test::Upstream up({s});
  auto frames = exchange(up.up.port(), "/__h2c/__upfault/h2-ok/");
  std::vector<std::uint8_t> types;
  for (const auto& f : frames) types.push_back(f.header.type);
  EXPECT_EQ(types, (std::vector<std::uint8_t>{h2::kSettings, h2::kSettings, h2::kHeaders, h2::kData}));
  ASSERT_EQ(frames.size(), 4u);
  h2::Decoder dec;
  auto head = dec.decode(frames[2].payload);
  ASSERT_TRUE(head) << head.error();
  ASSERT_FALSE(head->empty());
  EXPECT_EQ((*head)[0], (h2::Field{":status", "201"}));
  EXPECT_EQ(frames[3].payload, "made");
  auto log = up.up.log("h2-ok");
  ASSERT_EQ(log.connections.size(), 1u);
  EXPECT_EQ(log.connections[0].received.rfind("GET /__h2c/__upfault/h2-ok/ HTTP/2\r\nhost: x\r\n\r\n", 0), 0u)
      << log.connections[0].received;
  EXPECT_NE(log.connections[0].received.find("SETTINGS stream 0"), std::string::npos);
}

// The script ends as written: after the response, no GOAWAY and no FIN the script did not ask
// for. The connection stays open and served: a PING after the response is answered, and nothing
// came before its ACK but the response.
TEST(H2Server, ScriptEndsAsWrittenTheConnectionStaysOpen) {
  auto s = test::scenario(with_steps("h2-ok", R"(
[upstream]
protocol = "h2c"
[[upstream.steps]]
h2_response = { status = 200, body = "done" }
)"));
  test::Upstream up({s});
  test::H2Conn conn(up.up.port());
  conn.send(request_bytes("/__h2c/__upfault/h2-ok/"));
  const auto& served = conn.read_until([](const test::H2Answer& a) { return a.stream_over(1); });
  ASSERT_TRUE(served.stream_over(1)) << served.text();
  conn.send(h2::serialize_frame(h2::kPing, 0, 0, "8 bytes!"));
  const auto& after = conn.read_until([](const test::H2Answer& a) {
    return std::any_of(a.frames.begin(), a.frames.end(),
                       [](const auto& f) { return f.header.type == h2::kPing && (f.header.flags & 0x1); });
  });
  EXPECT_FALSE(after.closed) << after.text();
  EXPECT_FALSE(after.goaway()) << after.text();
  EXPECT_EQ(after.frames.back().header.type, h2::kPing) << after.text();
  EXPECT_EQ(after.frames.back().payload, "8 bytes!") << after.text();
}

// An HTTP/1.1 scenario reached over HTTP/2 is a setup error (421 with X-Upfault-Setup), logged
// as misrouted, never a script run.
TEST(H2Server, Http1ScenarioOverHttp2IsASetupError) {
  auto s = test::scenario(with_steps("plain",
                                     "[[upstream.steps]]\nread = \"request\"\n[[upstream.steps]]\n"
                                     "response = { status = 200, body = \"x\" }\n"));
  test::Upstream up({s});
  auto frames = exchange(up.up.port(), "/__upfault/plain/");
  auto headers = std::find_if(frames.begin(), frames.end(), [](auto& f) { return f.header.type == h2::kHeaders; });
  ASSERT_NE(headers, frames.end());
  h2::Decoder dec;
  auto head = dec.decode(headers->payload);
  ASSERT_TRUE(head) << head.error();
  ASSERT_GE(head->size(), 3u);
  EXPECT_EQ((*head)[0], (h2::Field{":status", "421"}));
  EXPECT_EQ((*head)[2], (h2::Field{"x-upfault-setup", "misrouted"}));
  auto log = up.up.log("plain");
  ASSERT_EQ(log.connections.size(), 1u);
  EXPECT_EQ(log.connections[0].end, ConnectionEnd::misrouted);
}

// An HTTP/2 scenario reached over HTTP/1.1 is the same setup error, in HTTP/1.1.
TEST(H2Server, Http2ScenarioOverHttp1IsASetupError) {
  auto s = test::scenario(
      with_steps("h2-only", "[upstream]\nprotocol = \"h2c\"\n[[upstream.steps]]\nh2_response = { status = 200 }\n"));
  test::Upstream up({s});
  auto c = up.fetch(s);
  ASSERT_TRUE(c.response);
  EXPECT_EQ(c.response->status, 421);
  EXPECT_EQ(up.up.log("h2-only").connections.at(0).end, ConnectionEnd::misrouted);
}
