// HTTP/2 streams and flow control on the fake upstream, seen from a raw client on a loopback
// socket: every stream it does not serve is refused at once (RST_STREAM REFUSED_STREAM), and a
// structured response never sends DATA beyond the proxy's windows.
#include <gtest/gtest.h>

#include "h2/frame.hpp"
#include "h2/hpack.hpp"
#include "h2_client.hpp"
#include "support.hpp"

using namespace upfault;
using namespace std::chrono_literals;
using upfault::test::H2Answer;
using upfault::test::H2Conn;
using upfault::test::h2_exchange;
using upfault::test::h2_preface;
using upfault::test::with_steps;

namespace {

Scenario h2_scenario(const std::string& name, const std::string& steps) {
  return test::scenario(with_steps(name, "[upstream]\nprotocol = \"h2c\"\n" + steps));
}

// GET /__h2c/__upfault/NAME/ on `stream`, encoded with `enc` (one encoder per connection).
std::string get(h2::Encoder& enc, std::uint32_t stream, const std::string& name) {
  const auto block = enc.encode({{":method", "GET"},
                                 {":scheme", "http"},
                                 {":authority", "x"},
                                 {":path", "/__h2c/__upfault/" + name + "/"}});
  return h2::serialize_frame(h2::kHeaders, h2::kEndHeaders | h2::kEndStream, stream, block.value_or(""));
}

// The scenario's one log entry says its stream was refused, and counts no request.
void expect_refused_entry(test::Upstream& up, const std::string& name) {
  const auto log = up.up.log(name);
  ASSERT_EQ(log.connections.size(), 1u);
  EXPECT_EQ(to_string(log.connections[0].end), "refused stream") << log.connections[0].ended;
  EXPECT_NE(log.connections[0].ended.find("REFUSED_STREAM"), std::string::npos) << log.connections[0].ended;
  EXPECT_EQ(log.requests(), 0);
}

}  // namespace

// Two requests in one write: stream 1 is served, stream 3 is refused with RST_STREAM
// REFUSED_STREAM (RFC 9113 §8.7: safe to retry) and logged under its own scenario as refused.
TEST(H2Streams, SecondStreamInTheSameReadIsRefused) {
  test::Upstream up({h2_scenario("first", "[[upstream.steps]]\nh2_response = { status = 200, body = \"one\" }\n"),
                     h2_scenario("second", "[[upstream.steps]]\nh2_response = { status = 200, body = \"two\" }\n")});
  h2::Encoder enc;
  std::string bytes = h2_preface() + get(enc, 1, "first");
  bytes += get(enc, 3, "second");  // encoded second: the dynamic table is the connection's
  auto got = h2_exchange(up.up.port(), bytes);
  const auto rst = got.find(h2::kRstStream, 3);
  ASSERT_LT(rst, got.frames.size()) << got.text();
  EXPECT_EQ(h2::parse_rst_stream(got.frames[rst])->code, 7u) << got.text();  // REFUSED_STREAM
  EXPECT_EQ(got.count(h2::kHeaders), 1u) << got.text();
  EXPECT_EQ(got.data_bytes(1), 3u) << got.text();
  EXPECT_EQ(got.data_bytes(3), 0u) << got.text();
  EXPECT_EQ(up.up.log("first").requests(), 1);
  expect_refused_entry(up, "second");
}

// A stream opened while the script waits (a delay before the response) is refused at once,
// before the served stream's response, not when the script ends.
TEST(H2Streams, StreamOpenedDuringTheScriptIsRefusedAtOnce) {
  test::Upstream up({h2_scenario("slow", "[[upstream.steps]]\ndelay = \"1500ms\"\n[[upstream.steps]]\n"
                                         "h2_response = { status = 200, body = \"late\" }\n"),
                     h2_scenario("other", "[[upstream.steps]]\nh2_response = { status = 200 }\n")});
  h2::Encoder enc;
  H2Conn conn(up.up.port());
  conn.send(h2_preface() + get(enc, 1, "slow"));
  conn.read_for(200ms);
  conn.send(get(enc, 3, "other"));
  const auto started = std::chrono::steady_clock::now();
  const auto& got = conn.read_until([](const H2Answer& a) { return a.find(h2::kRstStream, 3) < a.frames.size(); });
  ASSERT_LT(got.find(h2::kRstStream, 3), got.frames.size()) << got.text();
  EXPECT_LT(std::chrono::steady_clock::now() - started, 700ms) << got.text();
  EXPECT_EQ(got.count(h2::kHeaders), 0u) << got.text();  // the served stream's response comes later
  const auto& all = conn.read_until([](const H2Answer& a) { return a.closed; });
  EXPECT_EQ(all.data_bytes(1), 4u) << all.text();
  expect_refused_entry(up, "other");
}
