// The fake upstream's HTTP/2 server (see h2_session.hpp).
#include "upstream/h2_session.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <utility>

#include "base/util.hpp"
#include "upstream/connection.hpp"
#include "upstream/h2_mux.hpp"

namespace upfault::h2 {

using namespace net;

namespace {
constexpr std::size_t kMaxFramesBeforeRequest = 1000;  // SETTINGS, PING, WINDOW_UPDATE... before HEADERS
constexpr std::size_t kMaxLoggedFrames = 200;

}  // namespace

bool starts_with_preface(std::string_view buf) {
  constexpr auto first_line = kPreface.substr(0, 18);
  return buf.substr(0, first_line.size()) == first_line;
}

std::string render_request_head(const std::vector<Field>& fields) {
  std::string method = "?", path = "?", rest;
  auto clean = [](std::string v) {
    for (auto& ch : v)
      if (ch == '\r' || ch == '\n') ch = ' ';
    return v;
  };
  for (const auto& [name, value] : fields) {
    if (name == ":method")
      method = clean(value);
    else if (name == ":path")
      path = clean(value);
    else if (name == ":authority")
      rest += fmt::format("host: {}\r\n", clean(value));
    else if (!name.empty() && name[0] != ':')
      rest += fmt::format("{}: {}\r\n", clean(name), clean(value));
  }
  return fmt::format("{} {} HTTP/2\r\n{}\r\n", method, path, rest);
}

awaitable<void> Session::serve(upstream::Connection& c) {
  std::string head;
  const bool got = co_await read_request(c, head);
  if (!got) {
    if (!c.over()) co_await c.close_fin();
    co_return;
  }
  if (!violation_ && !replay_.empty() && c.multiplexes(head)) {
    replay_ += std::exchange(c.input(), {});
    co_return co_await upstream::serve_multiplexed(c, std::exchange(replay_, {}));
  }
  std::string().swap(replay_);
  if (violation_) {  // logged under its scenario, never routed: no setup error on an invalid stream
    c.log_refused_h2_request(head);
    c.note_received(std::exchange(early_, {}));
    co_return co_await refuse(c);
  }
  const bool routed = co_await c.start_h2_request(std::move(head));
  if (!routed) co_return;  // answered with a setup error, connection closed
  c.note_received(std::exchange(early_, {}));
  routed_ = true;
  auto_window_update_ = !c.scenario_has_step("h2_window_updates");
  log_frames(c);  // the frames that came with the request (a PRIORITY frame, another stream)
  if (violation_) co_return co_await refuse(c);
  const bool flushed = co_await flush(c);
  if (!flushed) co_return;
  co_await c.run_script();
  // The script ends as written: no GOAWAY, no FIN the script did not ask for. The connection stays
  // open, its frames read and logged (a new stream refused), until the proxy closes it or the
  // connection cap ends it, as a real server's idle connection would.
  if (!c.over()) co_await hang(c, std::nullopt);
}

// The proxy broke the protocol sending the request: the log entry (if the request was routed)
// ends with what it did; the proxy is told with the RFC's error; then FIN.
awaitable<void> Session::refuse(upstream::Connection& c) {
  const auto& v = *violation_;
  const bool stream_error = v.stream != 0;
  c.protocol_error(fmt::format("protocol error: the proxy sent {}; the upstream answered {} {} and did not serve it",
                               v.text, stream_error ? "RST_STREAM" : "GOAWAY", error_name(v.code)));
  // A stream error ends that stream, and this connection serves no other: GOAWAY, then FIN.
  const auto out = stream_error ? serialize_rst_stream(v.stream, v.code) + serialize_goaway(v.stream, kNoError)
                                : serialize_goaway(0, v.code);
  const bool sent = co_await c.send(out);
  if (sent) co_await c.close_fin();
}

// Notes the first frame the RFC refuses, of the kinds the fake upstream checks (see h2_session.hpp).
void Session::check(const Frame& f) {
  const auto& h = f.header;
  if (violation_ || (h.type != kHeaders && h.type != kPriority)) return;
  const bool request = !opened_ || h.stream == request_stream_;  // the request's stream, or the first
  const auto self = parse_priority(f);
  if (h.type == kPriority && h.stream != 0 && f.payload.size() != 5) {
    // A stream error (§6.3); on a stream not open, where RST_STREAM may not go (§6.4), the whole
    // connection's (§5.4.1 lets an endpoint treat a stream error as a connection error).
    violation_ =
        Violation{request && opened_ ? h.stream : 0, kFrameSizeError,
                  fmt::format("PRIORITY of {} bytes on stream {}, not 5 (RFC 9113 §6.3)", f.payload.size(), h.stream)};
  } else if (h.stream == 0) {
    violation_ =
        Violation{0, kProtocolError,
                  fmt::format("{} on stream 0 (RFC 9113 §{})", type_name(h.type), h.type == kHeaders ? "6.2" : "6.3")};
  } else if (h.type == kHeaders && h.stream % 2 == 0) {
    violation_ = Violation{
        0, kProtocolError,
        fmt::format("HEADERS on stream {}, an even id: a client's streams are odd (RFC 9113 §5.1.1)", h.stream)};
  } else if (self && self->depends_on == h.stream && h.type == kPriority && !(opened_ && request)) {
    // An idle stream (or one never served): refused only if its HEADERS come as the request.
    if (self_dependent_.size() < kMaxLoggedFrames) self_dependent_.push_back(h.stream);
  } else if (self && self->depends_on == h.stream && request) {
    violation_ =
        Violation{h.stream, kProtocolError,
                  fmt::format("{} making stream {} depend on itself (RFC 9113 §5.3.1)", type_name(h.type), h.stream)};
  } else if (h.type == kHeaders && !opened_ &&
             std::find(self_dependent_.begin(), self_dependent_.end(), h.stream) != self_dependent_.end()) {
    violation_ = Violation{
        h.stream, kProtocolError,
        fmt::format("HEADERS on stream {}, which a PRIORITY frame made depend on itself (RFC 9113 §5.3.1)", h.stream)};
  }
}

awaitable<bool> Session::next_frame(upstream::Connection& c, Frame& f) {
  while (true) {
    const auto took = take_frame(c.input(), kMaxInboundFrame, f);
    if (took == Take::frame) co_return true;
    if (took == Take::too_large) {
      violation_ = Violation{0, kFrameSizeError,
                             fmt::format("a frame of {} bytes, over SETTINGS_MAX_FRAME_SIZE {} (RFC 9113 §4.2)",
                                         parse_frame_header(c.input()).length, kMaxInboundFrame)};
      co_await refuse(c);
      co_return false;
    }
    const bool more = co_await c.read_input();
    if (!more) co_return false;
  }
}

// Reads the preface and the proxy's frames up to the first complete request header block.
awaitable<bool> Session::read_request(upstream::Connection& c, std::string& head) {
  while (c.input().size() < kPreface.size()) {
    const bool more = co_await c.read_input();
    if (!more) co_return false;
  }
  if (std::string_view(c.input()).substr(0, kPreface.size()) != kPreface) {
    c.fail("error: an incomplete HTTP/2 client preface");
    co_return false;
  }
  c.input().erase(0, kPreface.size());
  if (c.may_multiplex()) replay_ = kPreface;  // else nothing is kept: a run never hands over
  // The server preface at once: some proxies (HAProxy) send no request before they have it.
  settings_sent_ = true;
  const bool sent = co_await c.send(serialize_frame(kSettings, 0, 0, ""));
  if (!sent) co_return false;
  std::string block;
  bool complete = false;
  for (std::size_t n = 0; n < kMaxFramesBeforeRequest && !complete; ++n) {
    Frame f;
    const bool got = co_await next_frame(c, f);
    if (!got) co_return false;
    if (replay_.size() + kFrameHeaderSize + f.payload.size() > kMaxReplay) std::string().swap(replay_);
    if (!replay_.empty())
      replay_ += serialize_frame_raw(f.header.length, f.header.type, f.header.flags, f.header.stream, f.payload);
    if (++logged_frames_ <= kMaxLoggedFrames) early_ += describe(f) + "\n";
    if (auto wrong = on_control(f); wrong && logged_frames_ <= kMaxLoggedFrames)
      early_ += "(ignored: " + *wrong + ")\n";
    check(f);
    if (!on_headers(c, f, block, complete)) co_return false;
    // A connection error outside the request's header block ends the connection at once.
    const bool in_block =
        opened_ && f.header.stream == request_stream_ && (f.header.type == kHeaders || f.header.type == kContinuation);
    if (violation_ && violation_->stream == 0 && !in_block) break;
  }
  if (!complete && violation_) {
    co_await refuse(c);
    co_return false;
  }
  if (!complete) {
    c.fail("error: no request HEADERS in the proxy's first 1000 frames");
    co_return false;
  }
  auto decoded = decoder_.decode(block);
  if (!decoded && violation_) {
    co_await refuse(c);
    co_return false;
  }
  if (!decoded) {
    c.fail(fmt::format("error: the request's header block cannot be decoded: {}", decoded.error().message));
    co_await c.send(serialize_goaway(0, kCompressionError));
    co_return false;
  }
  head = render_request_head(*decoded);
  co_return true;
}

// Collects the request's header block; false when the connection must end.
bool Session::on_headers(upstream::Connection& c, const Frame& f, std::string& block, bool& complete) {
  const auto type = f.header.type;
  if (type != kHeaders && type != kContinuation) return true;
  if (type == kHeaders && !opened_) {
    opened_ = true;
    request_stream_ = f.header.stream;
    stream_send_window_ = peer_.initial_window_size;
  }
  if (!opened_ || f.header.stream != request_stream_) return true;  // another stream: not served
  const auto fragment = parse_header_fragment(f);
  if (!fragment) {
    c.fail("error: a HEADERS frame whose padding does not fit");
    return false;
  }
  if (block.size() + fragment->size() > kMaxHeaderBlock) {
    c.fail("error: the request's header block is over 64 KiB");
    return false;
  }
  block.append(*fragment);
  complete = (f.header.flags & kEndHeaders) != 0;
  return true;
}

void Session::log_frames(upstream::Connection& c) {
  if (!routed_) return;  // the request is still being read: its frames stay in the input
  Frame f;
  while (true) {
    const auto took = take_frame(c.input(), kMaxInboundFrame, f);
    if (took == Take::incomplete) return;
    if (took == Take::too_large) {
      c.note_received(fmt::format("(a frame over {} bytes; the rest of the input was discarded)\n", kMaxInboundFrame));
      c.input().clear();
      return;
    }
    check(f);
    const auto wrong = on_control(f);
    if (++logged_frames_ <= kMaxLoggedFrames) c.note_received(describe(f) + "\n");
    if (wrong && logged_frames_ <= kMaxLoggedFrames) c.note_received("(ignored: " + *wrong + ")\n");
    on_later_headers(c, f);
  }
}

// A header block after the request's: the request's trailers, or a new stream, which is refused
// at once (RST_STREAM REFUSED_STREAM, RFC 9113 §8.7) and logged under the scenario it names. Each
// block is decoded, so the HPACK table stays the proxy's.
void Session::on_later_headers(upstream::Connection& c, const Frame& f) {
  const auto& h = f.header;
  const bool starts = h.type == kHeaders && h.stream != 0 && h.stream % 2 == 1 && !block_stream_;
  if (!starts && !(h.type == kContinuation && block_stream_ && h.stream == *block_stream_)) return;
  if (starts) {
    block_stream_ = h.stream;
    later_block_.clear();
  }
  const auto fragment = parse_header_fragment(f);
  if (fragment && later_block_.size() + fragment->size() <= kMaxHeaderBlock) later_block_.append(*fragment);
  if (!(h.flags & kEndHeaders)) return;
  const auto stream = *std::exchange(block_stream_, std::nullopt);
  auto decoded = decoder_.decode(later_block_);
  later_block_.clear();
  if (stream == request_stream_) return;  // trailers
  if (!c.over()) {
    out_ += serialize_rst_stream(stream, kRefusedStream);
    // No more streams on this connection: a pooling proxy opens its next one elsewhere.
    if (!std::exchange(goaway_sent_, true)) out_ += serialize_goaway(request_stream_, kNoError);
  }
  if (decoded)
    c.note_refused_stream(render_request_head(*decoded), stream, request_stream_);
  else
    c.note_received(
        fmt::format("(stream {}'s header block could not be decoded: {})\n", stream, decoded.error().message));
}

awaitable<void> Session::hang(upstream::Connection& c, std::optional<Millis> duration) {
  // Whole frames are taken off the input as they arrive, so it holds at most one partial frame.
  if (duration) {
    co_await pump_until(c, Clock::now() + *duration);
    if (!c.over()) co_await c.close_fin();
    co_return;
  }
  while (true) {
    log_frames(c);
    const bool sent = co_await flush(c);
    if (!sent) co_return;
    const bool more = co_await c.read_input();
    if (!more) co_return;  // the proxy closed: the connection logged how
  }
}

awaitable<void> Session::send_setup_error(upstream::Connection& c, std::string_view status, std::string_view body) {
  const std::string code(status.substr(0, 3));
  const auto block = encode({{":status", code},
                             {"content-type", "text/plain"},
                             {"x-upfault-setup", "misrouted"},
                             {"content-length", std::to_string(body.size())}});
  const bool ok = co_await ensure_settings(c);
  if (ok && block) {
    std::string out = serialize_frame(kHeaders, kEndHeaders, request_stream_, *block);
    out += serialize_frame(kData, kEndStream, request_stream_, body.substr(0, kDefaultMaxFrame));
    out += serialize_goaway(request_stream_, kNoError);
    co_await c.send(out);
  }
  co_await c.close_fin();
}

}  // namespace upfault::h2
