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
using upfault::test::h2_exchange;
using upfault::test::h2_preface;
using upfault::test::H2Answer;
using upfault::test::H2Conn;
using upfault::test::with_steps;

namespace {

Scenario h2_scenario(const std::string& name, const std::string& steps) {
  return test::scenario(with_steps(name, "[upstream]\nprotocol = \"h2c\"\n" + steps));
}

// GET /__h2c/__upfault/NAME/ on `stream`, encoded with `enc` (one encoder per connection).
std::string get(h2::Encoder& enc, std::uint32_t stream, const std::string& name) {
  const auto block = enc.encode(
      {{":method", "GET"}, {":scheme", "http"}, {":authority", "x"}, {":path", "/__h2c/__upfault/" + name + "/"}});
  return h2::serialize_frame(h2::kHeaders, h2::kEndHeaders | h2::kEndStream, stream, block.value_or(""));
}

// The scenario's one log entry says its stream was refused, and counts no request.
void expect_refused_entry(test::Upstream& up, const std::string& name) {
  const auto log = up.up.log(name);
  ASSERT_EQ(log.connections.size(), 1u);
  EXPECT_EQ(to_string(log.connections[0].end), "refused stream") << log.connections[0].ended;
  EXPECT_NE(log.connections[0].ended.find("REFUSED_STREAM"), std::string::npos) << log.connections[0].ended;
  EXPECT_EQ(log.requests(), 0);
  EXPECT_TRUE(log.connections[0].reused) << "refused on another scenario's connection, not marked so";
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
  bytes += get(enc, 5, "first");   // the first scenario's own second stream (a retry on its connection)
  auto got = h2_exchange(up.up.port(), bytes, 3s, [](const H2Answer& a) {
    return a.stream_over(1) && a.find(h2::kRstStream, 5) < a.frames.size();
  });
  const auto rst = got.find(h2::kRstStream, 3);
  ASSERT_LT(rst, got.frames.size()) << got.text();
  EXPECT_EQ(h2::parse_rst_stream(got.frames[rst])->code, 7u) << got.text();  // REFUSED_STREAM
  EXPECT_EQ(got.count(h2::kHeaders), 1u) << got.text();
  EXPECT_EQ(got.data_bytes(1), 3u) << got.text();
  EXPECT_EQ(got.data_bytes(3), 0u) << got.text();
  EXPECT_EQ(up.up.log("first").requests(), 1);
  expect_refused_entry(up, "second");
  // Refused on its own scenario's connection: the proxy's doing, not another scenario's.
  const auto own = up.up.log("first");
  ASSERT_EQ(own.connections.size(), 2u);
  EXPECT_EQ(own.connections[1].end, ConnectionEnd::refused_stream) << own.connections[1].ended;
  EXPECT_FALSE(own.connections[1].reused);
}

// A stream opened while the script waits (a delay before the response) is refused at once,
// before the served stream's response, not when the script ends.
TEST(H2Streams, StreamOpenedDuringTheScriptIsRefusedAtOnce) {
  test::Upstream up({h2_scenario("slow",
                                 "[[upstream.steps]]\nh2_frame = { type = 250, stream = 0, payload = \"x\" }\n"
                                 "[[upstream.steps]]\ndelay = \"2s\"\n[[upstream.steps]]\n"
                                 "h2_response = { status = 200, body = \"late\" }\n"),
                     h2_scenario("other", "[[upstream.steps]]\nh2_response = { status = 200 }\n")});
  h2::Encoder enc;
  H2Conn conn(up.up.port());
  conn.send(h2_preface() + get(enc, 1, "slow"));
  // The script's first frame (an unknown type, which a receiver ignores) says it is running: the
  // second stream is sent during its delay, whatever the machine's load.
  const auto& running = conn.read_until([](const H2Answer& a) { return a.find(250, 0) < a.frames.size(); });
  ASSERT_LT(running.find(250, 0), running.frames.size()) << running.text();
  conn.send(get(enc, 3, "other"));
  const auto& got = conn.read_until([](const H2Answer& a) { return a.find(h2::kRstStream, 3) < a.frames.size(); });
  ASSERT_LT(got.find(h2::kRstStream, 3), got.frames.size()) << got.text();
  // Judged by order, not by a time window: the refusal came before the served stream's response.
  EXPECT_EQ(got.count(h2::kHeaders), 0u) << got.text();
  // The response comes once the delay is over (the script then ends as written: the connection
  // stays open), so the wait is for stream 1's end; its bound is well past the delay.
  const auto& all = conn.read_until([](const H2Answer& a) { return a.stream_over(1); }, 10s);
  EXPECT_EQ(all.data_bytes(1), 4u) << all.text();
  expect_refused_entry(up, "other");
}

namespace {

// A SETTINGS frame with one parameter.
std::string settings(std::uint16_t id, std::uint32_t value) {
  std::string p;
  h2::put_u16(p, id);
  h2::put_u32(p, value);
  return h2::serialize_frame(h2::kSettings, 0, 0, p);
}

// The largest DATA frame that came, and whether the last one ended the stream.
std::size_t largest_data(const H2Answer& a) {
  std::size_t n = 0;
  for (const auto& f : a.frames) n = f.header.type == h2::kData ? std::max(n, f.payload.size()) : n;
  return n;
}
bool ended_stream(const H2Answer& a) {
  for (auto f = a.frames.rbegin(); f != a.frames.rend(); ++f)
    if (f->header.type == h2::kData) return (f->header.flags & h2::kEndStream) != 0;
  return false;
}

// The WINDOW_UPDATE increments that came for `stream`, summed.
std::uint64_t window_given(const H2Answer& a, std::uint32_t stream) {
  std::uint64_t n = 0;
  for (const auto& f : a.frames)
    if (auto increment = h2::parse_window_update(f); increment && f.header.stream == stream) n += *increment;
  return n;
}

}  // namespace

// A proxy whose stream window is 1000 (SETTINGS_INITIAL_WINDOW_SIZE, before or after its
// request's HEADERS, RFC 9113 §6.9.2) gets 1000 bytes of a 3000-byte body, and the rest only after
// its WINDOW_UPDATE.
TEST(H2Flow, ResponseWaitsForTheStreamWindow) {
  test::Upstream up({h2_scenario("big",
                                 "[[upstream.steps]]\ndelay = \"100ms\"\n[[upstream.steps]]\n"
                                 "h2_response = { status = 200, body_size = 3000 }\n")});
  for (const bool settings_first : {true, false}) {
    SCOPED_TRACE(settings_first ? "SETTINGS before HEADERS" : "SETTINGS after HEADERS");
    h2::Encoder enc;
    const auto small = settings(h2::kInitialWindowSize, 1000);
    H2Conn conn(up.up.port());
    conn.send(std::string(h2::kPreface) + (settings_first ? small + get(enc, 1, "big") : get(enc, 1, "big") + small));
    conn.read_until([](const H2Answer& a) { return a.data_bytes(1) >= 1000; });
    const auto& held = conn.read_for(300ms);
    EXPECT_EQ(held.data_bytes(1), 1000u) << held.text();
    conn.send(h2::serialize_window_update(1, 2000));
    const auto& all = conn.read_until([](const H2Answer& a) { return a.stream_over(1); });
    EXPECT_EQ(all.data_bytes(1), 3000u) << all.text();
    EXPECT_TRUE(ended_stream(all)) << all.text();
  }
}

// The connection window (65,535 until the proxy's WINDOW_UPDATE on stream 0) bounds the body too,
// and DATA frames are cut at the proxy's SETTINGS_MAX_FRAME_SIZE (20,000 here), not at 16,384.
TEST(H2Flow, ResponseWaitsForTheConnectionWindowInFramesOfTheProxysSize) {
  test::Upstream up({h2_scenario("huge", "[[upstream.steps]]\nh2_response = { status = 200, body_size = 100000 }\n")});
  h2::Encoder enc;
  H2Conn conn(up.up.port());
  conn.send(std::string(h2::kPreface) + settings(h2::kMaxFrameSize, 20000) + get(enc, 1, "huge") +
            h2::serialize_window_update(1, 100000));
  conn.read_until([](const H2Answer& a) { return a.data_bytes(1) >= 65535; });
  const auto& held = conn.read_for(300ms);
  EXPECT_EQ(held.data_bytes(1), 65535u) << held.text();
  conn.send(h2::serialize_window_update(0, 40000));
  const auto& all = conn.read_until([](const H2Answer& a) { return a.stream_over(1); });
  EXPECT_EQ(all.data_bytes(1), 100000u) << all.text();
  EXPECT_EQ(largest_data(all), 20000u) << all.text();
  EXPECT_TRUE(ended_stream(all)) << all.text();
}

// A proxy uploading a body gets its windows back (WINDOW_UPDATE on the connection and the stream)
// once half of one has arrived, so it never stalls; `h2_window_updates = false` turns that off.
TEST(H2Flow, UploadedBodyGetsItsWindowBackUnlessTheScenarioSaysNo) {
  const std::string respond =
      "[[upstream.steps]]\ndelay = \"300ms\"\n[[upstream.steps]]\nh2_response = { status = 200 }\n";
  test::Upstream up({h2_scenario("upload", respond),
                     h2_scenario("stalled", "[[upstream.steps]]\nh2_window_updates = false\n" + respond)});
  for (const std::string name : {"upload", "stalled"}) {
    SCOPED_TRACE(name);
    h2::Encoder enc;
    auto post = get(enc, 1, name);
    post[4] = static_cast<char>(h2::kEndHeaders);  // no END_STREAM: a body follows
    for (int i = 0; i < 4; ++i) post += h2::serialize_frame(h2::kData, 0, 1, std::string(16000, 'u'));
    H2Conn conn(up.up.port());
    conn.send(h2_preface() + post);
    const auto& got = conn.read_until([](const H2Answer& a) { return a.stream_over(1); });
    ASSERT_EQ(got.count(h2::kHeaders), 1u) << got.text();
    // Given back once 32,768 bytes or more are unreturned: after the third frame here.
    EXPECT_EQ(window_given(got, 0), name == "upload" ? 48000u : 0u) << got.text();
    EXPECT_EQ(window_given(got, 1), name == "upload" ? 48000u : 0u) << got.text();
  }
}
