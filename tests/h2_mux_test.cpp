// The multiplexing HTTP/2 server (h2/mux_server.hpp), first with no socket at all — bytes from an
// nghttp2 client session in memory in, events and bytes out — then on the fake upstream under
// Options::h2_multiplex, from a raw client on a loopback socket: many streams of a healthy
// scenario served on one connection, any other scenario's stream refused, and nothing of this
// when the option is off (runs: one stream per connection).
#include <gtest/gtest.h>
#include <nghttp2/nghttp2.h>

#include <map>

#include "h2/frame.hpp"
#include "h2/mux_server.hpp"
#include "h2_client.hpp"
#include "support.hpp"

using namespace upfault;
using namespace std::chrono_literals;

namespace {

// An nghttp2 client session in memory, recording each stream's status, body, trailers and end.
struct Client {
  struct Stream {
    std::string status, body;
    std::vector<h2::Field> trailers;
    bool headers_done = false;
    std::optional<std::uint32_t> closed;  // the close's error code
    std::size_t largest_data = 0;
  };
  nghttp2_session* s = nullptr;
  std::map<std::int32_t, Stream> streams;
  std::optional<std::uint32_t> goaway;

  explicit Client(std::vector<nghttp2_settings_entry> settings = {}, bool auto_window = true) {
    nghttp2_session_callbacks* cb = nullptr;
    nghttp2_session_callbacks_new(&cb);
    nghttp2_session_callbacks_set_on_header_callback(
        cb, [](nghttp2_session*, const nghttp2_frame* f, const std::uint8_t* n, std::size_t nl, const std::uint8_t* v,
               std::size_t vl, std::uint8_t, void* u) {
          auto& st = static_cast<Client*>(u)->streams[f->hd.stream_id];
          std::string name(reinterpret_cast<const char*>(n), nl), value(reinterpret_cast<const char*>(v), vl);
          if (name == ":status")
            st.status = value;
          else if (st.headers_done)
            st.trailers.emplace_back(name, value);
          return 0;
        });
    nghttp2_session_callbacks_set_on_frame_recv_callback(cb, [](nghttp2_session*, const nghttp2_frame* f, void* u) {
      auto* c = static_cast<Client*>(u);
      if (f->hd.type == NGHTTP2_HEADERS) c->streams[f->hd.stream_id].headers_done = true;
      if (f->hd.type == NGHTTP2_DATA)
        c->streams[f->hd.stream_id].largest_data = std::max(c->streams[f->hd.stream_id].largest_data, f->hd.length);
      if (f->hd.type == NGHTTP2_GOAWAY) c->goaway = f->goaway.error_code;
      return 0;
    });
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(
        cb, [](nghttp2_session*, std::uint8_t, std::int32_t id, const std::uint8_t* d, std::size_t n, void* u) {
          static_cast<Client*>(u)->streams[id].body.append(reinterpret_cast<const char*>(d), n);
          return 0;
        });
    nghttp2_session_callbacks_set_on_stream_close_callback(
        cb, [](nghttp2_session*, std::int32_t id, std::uint32_t code, void* u) {
          static_cast<Client*>(u)->streams[id].closed = code;
          return 0;
        });
    nghttp2_option* o = nullptr;
    nghttp2_option_new(&o);
    nghttp2_option_set_no_auto_window_update(o, auto_window ? 0 : 1);
    nghttp2_session_client_new2(&s, cb, this, o);
    nghttp2_option_del(o);
    nghttp2_session_callbacks_del(cb);
    nghttp2_submit_settings(s, NGHTTP2_FLAG_NONE, settings.data(), settings.size());
  }
  ~Client() { nghttp2_session_del(s); }

  std::int32_t get(const std::string& path) {
    std::vector<h2::Field> f = {{":method", "GET"}, {":scheme", "http"}, {":authority", "x"}, {":path", path}};
    std::vector<nghttp2_nv> nva;
    for (auto& [n, v] : f)
      nva.push_back({reinterpret_cast<std::uint8_t*>(n.data()), reinterpret_cast<std::uint8_t*>(v.data()), n.size(),
                     v.size(), NGHTTP2_NV_FLAG_NONE});
    return nghttp2_submit_request(s, nullptr, nva.data(), nva.size(), nullptr, nullptr);
  }
  std::string output() {
    std::string out;
    const std::uint8_t* d = nullptr;
    for (auto n = nghttp2_session_mem_send(s, &d); n > 0; n = nghttp2_session_mem_send(s, &d))
      out.append(reinterpret_cast<const char*>(d), static_cast<std::size_t>(n));
    return out;
  }
  void input(const std::string& bytes) {
    ASSERT_GE(nghttp2_session_mem_recv(s, reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size()), 0);
  }
};

std::shared_ptr<const h2::FixedResponse> response(std::string status, std::string body,
                                                  std::vector<h2::Field> trailers = {}) {
  auto r = std::make_shared<h2::FixedResponse>();
  r->headers = {{":status", std::move(status)}, {"content-type", "text/plain"}};
  if (trailers.empty()) r->headers.emplace_back("content-length", std::to_string(body.size()));
  r->body = std::move(body);
  r->trailers = std::move(trailers);
  return r;
}

// Moves bytes both ways until neither side has any; `answer` answers each request the server hands out.
void pump(Client& c, h2::MuxServer& server, const std::function<void(const h2::MuxServer::Request&)>& answer) {
  for (int round = 0; round < 1000; ++round) {
    const auto up = c.output();
    if (!up.empty()) {
      ASSERT_TRUE(server.receive(up)) << "the server refused a valid client's bytes";
    }
    for (const auto& r : server.take_requests()) answer(r);
    const auto down = server.take_output();
    if (up.empty() && down.empty()) return;
    c.input(down);
  }
  FAIL() << "the exchange never went quiet";
}

std::string path_of(const h2::MuxServer::Request& r) {
  for (const auto& [n, v] : r.fields)
    if (n == ":path") return v;
  return "";
}

}  // namespace

// Bytes in, events out, no socket: 20 concurrent streams on one session, each served whole with
// END_STREAM, bodies larger than the initial windows (65,535) and frames within the client's
// SETTINGS_MAX_FRAME_SIZE; no GOAWAY.
TEST(H2MuxServer, ServesManyConcurrentStreamsWithinTheClientsWindowsAndFrameSize) {
  Client c;
  h2::MuxServer server;
  for (int i = 0; i < 20; ++i) c.get("/s" + std::to_string(i));
  const auto big = response("200", std::string(100'000, 'b'));
  std::size_t requests = 0;
  pump(c, server, [&](const auto& r) {
    ++requests;
    server.respond(r.stream, big);
  });
  EXPECT_EQ(requests, 20u);
  EXPECT_EQ(server.served(), 20u);
  ASSERT_EQ(c.streams.size(), 20u);
  for (const auto& [id, st] : c.streams) {
    EXPECT_EQ(st.status, "200") << id;
    EXPECT_EQ(st.body.size(), 100'000u) << id;
    EXPECT_EQ(st.closed, std::optional<std::uint32_t>(NGHTTP2_NO_ERROR)) << id;
    EXPECT_LE(st.largest_data, h2::kDefaultMaxFrame) << id;
  }
  EXPECT_FALSE(c.goaway) << "GOAWAY after the streams";
  EXPECT_TRUE(server.wants_more());
}

// The client's SETTINGS_INITIAL_WINDOW_SIZE is honoured: with a 1,000-byte stream window and no
// WINDOW_UPDATE from the client, exactly 1,000 body bytes come; once the client gives the window
// back, the rest.
TEST(H2MuxServer, BodyStopsAtTheClientsStreamWindowUntilItIsGivenBack) {
  Client c({{NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, 1000}}, /*auto_window=*/false);
  h2::MuxServer server;
  const auto id = c.get("/w");
  pump(c, server, [&](const auto& r) { server.respond(r.stream, response("200", std::string(5000, 'w'))); });
  EXPECT_EQ(c.streams[id].body.size(), 1000u);
  EXPECT_FALSE(c.streams[id].closed);
  nghttp2_submit_window_update(c.s, NGHTTP2_FLAG_NONE, id, 4000);
  pump(c, server, [](const auto&) {});
  EXPECT_EQ(c.streams[id].body.size(), 5000u);
  EXPECT_EQ(c.streams[id].closed, std::optional<std::uint32_t>(NGHTTP2_NO_ERROR));
}

// Refused streams get RST_STREAM REFUSED_STREAM; trailers come as a last HEADERS with END_STREAM.
TEST(H2MuxServer, RefusesWhatItIsToldToAndSendsTrailers) {
  Client c;
  h2::MuxServer server;
  const auto served = c.get("/served"), refused = c.get("/refused");
  pump(c, server, [&](const auto& r) {
    if (path_of(r) == "/refused")
      server.refuse(r.stream);
    else
      server.respond(r.stream, response("200", "body", {{"grpc-status", "0"}}));
  });
  EXPECT_EQ(c.streams[refused].closed, std::optional<std::uint32_t>(NGHTTP2_REFUSED_STREAM));
  EXPECT_EQ(c.streams[served].body, "body");
  EXPECT_EQ(c.streams[served].trailers, (std::vector<h2::Field>{{"grpc-status", "0"}}));
  EXPECT_EQ(server.served(), 1u);
}

// A client that breaks the protocol is told with GOAWAY, and the session wants nothing more.
TEST(H2MuxServer, ProtocolErrorEndsTheSessionWithGoaway) {
  h2::MuxServer server;
  auto out = server.take_output();
  EXPECT_EQ(out, h2::serialize_frame(h2::kSettings, 0, 0, "")) << "the server preface is an empty SETTINGS";
  // The preface, then HEADERS on stream 0 (RFC 9113 §6.2: PROTOCOL_ERROR).
  const auto bad = std::string(h2::kPreface) + h2::serialize_frame(h2::kSettings, 0, 0, "") +
                   h2::serialize_frame(h2::kHeaders, h2::kEndHeaders, 0, "\x82");
  EXPECT_FALSE(server.receive(bad));
  out = server.take_output();
  h2::Frame f;
  bool goaway = false;
  while (h2::take_frame(out, 1 << 20, f) == h2::Take::frame) goaway = goaway || f.header.type == h2::kGoaway;
  EXPECT_TRUE(goaway);
  EXPECT_FALSE(server.wants_more());
}

// What a multiplexed connection may send: only a response a healthy origin sends.
TEST(H2MuxServer, OnlyValidResponsesAreFixedResponses) {
  EXPECT_FALSE(h2::invalid_fixed_response(*response("200", "ok")));
  EXPECT_FALSE(h2::invalid_fixed_response(*response("503", "down")));
  auto with = [](std::vector<h2::Field> extra, std::string status = "200") {
    auto r = *response(std::move(status), "ok");
    r.headers.insert(r.headers.end(), extra.begin(), extra.end());
    return h2::invalid_fixed_response(r).value_or("");
  };
  EXPECT_NE(with({}, "103"), "");
  EXPECT_NE(with({}, "2000"), "");
  EXPECT_NE(with({{"X-Upper", "1"}}), "");
  EXPECT_NE(with({{"connection", "close"}}), "");
  EXPECT_NE(with({{"transfer-encoding", "chunked"}}), "");
  EXPECT_NE(with({{"x-a", "a\rb"}}), "");
  EXPECT_NE(with({{":path", "/"}}), "");
  auto lying = *response("200", "ok");
  lying.headers.back().second = "5";  // content-length 5 for a 2-byte body
  EXPECT_NE(h2::invalid_fixed_response(lying).value_or(""), "");
}

namespace {

Scenario h2_scenario(const std::string& name, const std::string& steps) {
  return test::scenario(test::with_steps(name, "[upstream]\nprotocol = \"h2c\"\n" + steps));
}

std::string get(h2::Encoder& enc, std::uint32_t stream, const std::string& name) {
  const auto block = enc.encode(
      {{":method", "GET"}, {":scheme", "http"}, {":authority", "x"}, {":path", "/__h2c/__upfault/" + name + "/"}});
  return h2::serialize_frame(h2::kHeaders, h2::kEndHeaders | h2::kEndStream, stream, block.value_or(""));
}

struct MuxUpstream {
  explicit MuxUpstream(bool multiplex) : up(options(multiplex)) {
    up.add(h2_scenario("ok", "[[upstream.steps]]\nh2_response = { status = 200, body = \"fine\" }\n"));
    up.add(h2_scenario("fault", "[[upstream.steps]]\nh2_rst_stream = \"internal_error\"\n"));
    up.start();
  }
  static FakeUpstream::Options options(bool multiplex) {
    FakeUpstream::Options o;
    o.h2_multiplex = multiplex;
    return o;
  }
  FakeUpstream up;
};

}  // namespace

// On the fake upstream: 20 streams of a healthy scenario, sent in one write, are all served on the
// one connection (one log entry each, the same connection), without a GOAWAY; a stream for a fault
// scenario on it is refused (RST_STREAM REFUSED_STREAM) and logged so under that scenario.
TEST(H2MuxUpstream, HealthyScenarioServesManyStreamsOnOneConnection) {
  MuxUpstream m(true);
  h2::Encoder enc;
  std::string bytes = test::h2_preface();
  for (std::uint32_t s = 1; s <= 39; s += 2) bytes += get(enc, s, "ok");
  bytes += get(enc, 41, "fault");
  auto got = test::h2_exchange(m.up.port(), bytes, 5s, [](const test::H2Answer& a) {
    for (std::uint32_t s = 1; s <= 41; s += 2)
      if (!a.stream_over(s)) return false;
    return true;
  });
  for (std::uint32_t s = 1; s <= 39; s += 2) {
    EXPECT_EQ(got.data_bytes(s), 4u) << "stream " << s << "\n" << got.text();
    EXPECT_EQ(got.find(h2::kRstStream, s), got.frames.size()) << got.text();
  }
  EXPECT_FALSE(got.goaway()) << got.text();
  const auto rst = got.find(h2::kRstStream, 41);
  ASSERT_LT(rst, got.frames.size()) << got.text();
  EXPECT_EQ(h2::parse_rst_stream(got.frames[rst])->code, h2::kRefusedStream);
  const auto log = m.up.log("ok");
  EXPECT_EQ(log.requests(), 20);
  ASSERT_EQ(log.connections.size(), 20u);
  for (const auto& c : log.connections) EXPECT_EQ(c.connection, log.connections[0].connection);
  const auto fault = m.up.log("fault");
  ASSERT_EQ(fault.connections.size(), 1u);
  EXPECT_EQ(fault.connections[0].end, ConnectionEnd::refused_stream) << fault.connections[0].ended;
  EXPECT_EQ(fault.requests(), 0);
}

// Off (runs), the same bytes get one stream served and every other refused: one stream per connection.
TEST(H2MuxUpstream, OffServesOneStreamPerConnection) {
  MuxUpstream m(false);
  h2::Encoder enc;
  std::string bytes = test::h2_preface();
  for (std::uint32_t s = 1; s <= 9; s += 2) bytes += get(enc, s, "ok");
  auto got = test::h2_exchange(m.up.port(), bytes, 5s, [](const test::H2Answer& a) {
    for (std::uint32_t s = 1; s <= 9; s += 2)
      if (!a.stream_over(s)) return false;
    return true;
  });
  EXPECT_EQ(got.data_bytes(1), 4u) << got.text();
  for (std::uint32_t s = 3; s <= 9; s += 2) EXPECT_LT(got.find(h2::kRstStream, s), got.frames.size()) << got.text();
  EXPECT_EQ(m.up.log("ok").requests(), 1);
}

// A fault scenario's first request keeps its connection to itself under the option too.
TEST(H2MuxUpstream, FaultScenarioKeepsItsOwnConnection) {
  MuxUpstream m(true);
  h2::Encoder enc;
  auto bytes = test::h2_preface() + get(enc, 1, "fault");
  bytes += get(enc, 3, "ok");  // encoded second: the dynamic table is the connection's
  auto got = test::h2_exchange(m.up.port(), bytes, 5s,
                               [](const test::H2Answer& a) { return a.stream_over(1) && a.stream_over(3); });
  const auto rst1 = got.find(h2::kRstStream, 1), rst3 = got.find(h2::kRstStream, 3);
  ASSERT_LT(rst1, got.frames.size()) << got.text();
  EXPECT_EQ(h2::parse_rst_stream(got.frames[rst1])->code, 2u) << "the script's INTERNAL_ERROR";
  ASSERT_LT(rst3, got.frames.size()) << got.text();
  EXPECT_EQ(h2::parse_rst_stream(got.frames[rst3])->code, h2::kRefusedStream);
}
