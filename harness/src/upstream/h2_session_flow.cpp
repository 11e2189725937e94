// The fake upstream's HTTP/2 server (see h2_session.hpp): the proxy's settings and flow control, and
// the writes, which answer the proxy's frames first.
#include <fmt/format.h>

#include <algorithm>
#include <utility>

#include "upstream/connection.hpp"
#include "upstream/h2_session.hpp"

namespace upfault::h2 {

using namespace net;

namespace {
constexpr std::size_t kBatch = 64 * 1024;  // DATA frames written at once, at most
}  // namespace

std::optional<std::string> Session::on_control(const Frame& f) {
  const auto& h = f.header;
  if (h.type == kSettings) return on_settings(f);
  if (h.type == kRstStream && opened_ && h.stream == request_stream_) request_reset_ = true;
  if (h.type == kData) on_data(f);
  // A PING is answered, as every endpoint must (RFC 9113 §6.7): a proxy that checks an idle
  // pooled connection this way finds it alive.
  if (h.type == kPing && h.stream == 0 && !(h.flags & kAck) && f.payload.size() == 8)
    out_ += serialize_frame(kPing, kAck, 0, f.payload);
  if (h.type != kWindowUpdate) return std::nullopt;
  const auto increment = parse_window_update(f);
  if (!increment || *increment == 0) return "a WINDOW_UPDATE of 0 or of another size than 4 bytes (RFC 9113 §6.9)";
  if (h.stream == 0) send_window_ += *increment;
  if (opened_ && h.stream == request_stream_) stream_send_window_ += *increment;
  return std::nullopt;
}

std::optional<std::string> Session::on_settings(const Frame& f) {
  if (f.header.flags & kAck) return apply_settings(f, peer_);
  peer_settings_seen_ = true;
  peer_settings_acked_ = false;
  const auto before = peer_.initial_window_size;
  auto wrong = apply_settings(f, peer_);
  // A new initial window changes the open stream's by the difference (RFC 9113 §6.9.2).
  if (!wrong && opened_) stream_send_window_ += static_cast<std::int64_t>(peer_.initial_window_size) - before;
  return wrong;
}

// Gives the window back (WINDOW_UPDATE) once half of it has been received, unless the scenario
// manages the proxy's windows itself (h2_window_updates = false).
void Session::on_data(const Frame& f) {
  const auto n = f.header.length;
  received_ += n;
  if (opened_ && f.header.stream == request_stream_ && !(f.header.flags & kEndStream)) stream_received_ += n;
  if (!auto_window_update_) return;
  if (received_ >= kDefaultWindow / 2) out_ += serialize_window_update(0, std::exchange(received_, 0));
  if (stream_received_ >= kDefaultWindow / 2)
    out_ += serialize_window_update(request_stream_, std::exchange(stream_received_, 0));
}

// What the frames a step sends change: the SETTINGS sent, and the windows their DATA spends.
void Session::note_sent(std::string_view frames) {
  while (frames.size() >= kFrameHeaderSize) {
    const auto h = parse_frame_header(frames);
    if (h.type == kSettings && !(h.flags & kAck)) settings_sent_ = true;
    if (h.type == kSettings && (h.flags & kAck)) peer_settings_acked_ = true;
    if (h.type == kData) spend(h.stream, h.length);
    frames.remove_prefix(std::min<std::size_t>(frames.size(), kFrameHeaderSize + h.length));
  }
}

void Session::spend(std::uint32_t stream, std::size_t n) {
  send_window_ -= static_cast<std::int64_t>(n);
  if (opened_ && stream == request_stream_) stream_send_window_ -= static_cast<std::int64_t>(n);
}

std::int64_t Session::room(std::uint32_t stream) const {
  return opened_ && stream == request_stream_ ? std::min(send_window_, stream_send_window_) : send_window_;
}

awaitable<bool> Session::send(upstream::Connection& c, std::string_view frames) {
  note_sent(frames);
  co_return co_await write(c, frames);
}

awaitable<bool> Session::write(upstream::Connection& c, std::string_view bytes) {
  log_frames(c);
  if (out_.empty()) co_return co_await c.send(bytes);
  out_.append(bytes);  // the answers to the proxy's frames first
  co_return co_await c.send(std::exchange(out_, {}));
}

awaitable<bool> Session::flush(upstream::Connection& c) {
  if (out_.empty() || c.over()) co_return !c.over();
  co_return co_await c.send(std::exchange(out_, {}));
}

awaitable<bool> Session::pump_until(upstream::Connection& c, Clock::time_point t, std::function<bool()> done) {
  // co_await never in a condition here: GCC 12 miscompiles some of those.
  while (!c.over()) {
    log_frames(c);
    const bool sent = co_await flush(c);
    if (!sent) co_return false;
    if (done && done()) co_return true;
    const bool readable = co_await c.wait_readable(t);
    if (!readable) co_return false;  // t has passed
    const bool more = co_await c.read_input();
    if (!more) co_return false;  // the proxy closed: the connection logged how
  }
  co_return false;
}

// Large bodies go out kBatch bytes of frames at a time, so a proxy that does not read holds no
// copy of the body here; a DATA frame larger than that (the proxy's SETTINGS_MAX_FRAME_SIZE and
// windows allow up to 16 MiB) is written as its header, then its payload straight from `body`.
awaitable<bool> Session::send_flow_controlled(upstream::Connection& c, std::uint32_t stream, std::string out,
                                              std::string_view body, bool end_stream, std::string_view tail) {
  const auto total = body.size();
  while (!body.empty()) {
    if (room(stream) <= 0) {
      if (!out.empty()) {
        const bool sent = co_await write(c, std::exchange(out, {}));
        if (!sent) co_return false;
      }
      const bool open = co_await wait_for_window(c, stream, total - body.size(), total);
      if (!open) co_return false;
      continue;
    }
    const auto size =
        std::min<std::size_t>({static_cast<std::size_t>(room(stream)), peer_.max_frame_size, body.size()});
    const auto piece = body.substr(0, size);
    body.remove_prefix(size);
    spend(stream, size);
    const auto flags = static_cast<std::uint8_t>(body.empty() && end_stream ? kEndStream : 0);
    if (size <= kBatch) {
      out += serialize_frame(kData, flags, stream, piece);
      if (out.size() < kBatch) continue;
    } else {
      out += serialize_frame_raw(static_cast<std::uint32_t>(size), kData, flags, stream, "");
    }
    const bool sent = co_await write(c, std::exchange(out, {}));
    if (!sent) co_return false;
    if (size <= kBatch) continue;
    const bool payload = co_await c.send(piece);
    if (!payload) co_return false;
  }
  out.append(tail);
  if (out.empty()) co_return true;
  co_return co_await write(c, out);
}

// Reads and answers the proxy's frames until a WINDOW_UPDATE opens the window, at most until the
// connection's deadline (its cap); false when the body cannot go on (the reason is logged).
awaitable<bool> Session::wait_for_window(upstream::Connection& c, std::uint32_t stream, std::size_t sent,
                                         std::size_t total) {
  const bool reset_before = request_reset_;
  const bool open = co_await pump_until(c, c.deadline(), [&] { return room(stream) > 0 || request_reset_; });
  if (c.over()) co_return false;
  if (request_reset_ && !reset_before && stream == request_stream_) {
    c.note_received(fmt::format("(the proxy reset the stream while its window was closed: {} of {} body bytes sent)\n",
                                sent, total));
    co_return false;
  }
  if (open) co_return true;
  c.time_out(
      fmt::format("timed out: the proxy's flow-control window stayed closed ({} of {} body bytes sent; "
                  "connection window {}, stream window {})",
                  sent, total, send_window_, stream_send_window_));
  co_return false;
}

awaitable<bool> Session::ensure_settings(upstream::Connection& c) {
  std::string out;
  if (!settings_sent_) out += serialize_frame(kSettings, 0, 0, "");
  if (peer_settings_seen_ && !peer_settings_acked_) out += serialize_frame(kSettings, kAck, 0, "");
  settings_sent_ = true;
  peer_settings_acked_ = true;
  if (out.empty()) co_return true;
  co_return co_await c.send(out);
}

}  // namespace upfault::h2
