#pragma once
// The fake upstream's HTTP/2 server (RFC 9113), frame level. When the proxy opens a connection with
// the client preface, the connection hands itself to a Session, which sends its own preface (an
// empty SETTINGS: HAProxy sends no request before it), reads the proxy's frames up
// to the first complete request (HEADERS + CONTINUATION), decodes it, routes it like an HTTP/1.1
// request (logged as an HTTP/1.1-like head, so the checks read it the same way), runs the
// scenario's steps, and then ends the connection with GOAWAY (last-stream-id = the served stream,
// NO_ERROR) and a FIN. Under FakeUpstream::Options::h2_multiplex, a connection whose first request
// is for a scenario that only answers with a valid response is handed to the multiplexing server
// instead (upstream/h2_mux.hpp), with every byte read so far.
//
// One stream per connection, for determinism: every other stream the proxy opens is refused as
// soon as its header block is read (RST_STREAM REFUSED_STREAM, which RFC 9113 §8.7 makes safe to
// retry, and once a GOAWAY naming the served stream, so the proxy opens the next ones elsewhere),
// and logged under the scenario it names as refused. The script's waits (delay, hang) read the
// proxy's frames meanwhile. All I/O goes through upstream::Connection, so the same code serves h2c
// and, under a TLS transport, h2.
//
// A proxy that breaks the protocol while it sends the request is told with the RFC's error and
// its request is not served: a frame over 16384 bytes (GOAWAY FRAME_SIZE_ERROR, §4.2), HEADERS or
// PRIORITY on stream 0 or HEADERS on an even stream (GOAWAY PROTOCOL_ERROR, §6.2, §6.3, §5.1.1), a
// request stream that depends on itself (RST_STREAM PROTOCOL_ERROR, §5.3.1). The request is logged
// under its scenario as ended by a protocol error, which the verdict reports.
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "h2/frame.hpp"
#include "h2/hpack.hpp"
#include "io/net.hpp"
#include "upfault/duration.hpp"

namespace upfault::upstream {
class Connection;
}

namespace upfault::h2 {

/// True when `buf` begins with the client preface's first line ("PRI * HTTP/2.0\r\n\r\n").
[[nodiscard]] bool starts_with_preface(std::string_view buf);

/// The largest frame payload the fake upstream accepts from the proxy (it advertises no other).
inline constexpr std::size_t kMaxInboundFrame = kDefaultMaxFrame;
/// The largest request header block (all fragments) it accepts, and its decoded list size.
inline constexpr std::size_t kMaxHeaderBlock = 64 * 1024;
/// The most bytes before the first request that a multiplexed connection reads again (h2_mux.hpp).
inline constexpr std::size_t kMaxReplay = 256 * 1024;

/// A frame from the proxy that RFC 9113 refuses, and how the fake upstream answers it.
struct Violation {
  std::uint32_t stream = 0;  ///< the stream a stream error resets (RST_STREAM); 0: a connection error (GOAWAY)
  std::uint32_t code = kProtocolError;
  std::string text;  ///< what the proxy did, with the RFC's section
};

/// One HTTP/2 connection's state, for the server and the h2_* steps.
class Session {
 public:
  /// Serves the connection: the preface, the first request, the script, then GOAWAY and FIN.
  net::awaitable<void> serve(upstream::Connection& c);
  /// Answers a request upfault cannot route (no such scenario, wrong protocol) with `status` and a
  /// text body carrying X-Upfault-Setup, then GOAWAY and FIN.
  net::awaitable<void> send_setup_error(upstream::Connection& c, std::string_view status, std::string_view body);
  /// Takes the whole frames in the connection's input off it, one log line each (no reading), and
  /// queues the answers they need (a refused stream's RST_STREAM) for the next write.
  void log_frames(upstream::Connection& c);
  /// The `hang` step on HTTP/2: reads and answers the proxy's frames until it closes, or for
  /// `duration` and then FIN.
  net::awaitable<void> hang(upstream::Connection& c, std::optional<Millis> duration);
  /// Reads and answers the proxy's frames (what a wait in the script does on HTTP/2) until `done()`
  /// holds (then true), `t` passes or the connection ends (then false).
  net::awaitable<bool> pump_until(upstream::Connection& c, net::Clock::time_point t,
                                  std::function<bool()> done = nullptr);

  // For the steps.

  /// The stream of the request being served.
  [[nodiscard]] std::uint32_t request_stream() const { return request_stream_; }
  /// The proxy's SETTINGS_MAX_FRAME_SIZE (16384 until it says otherwise).
  [[nodiscard]] std::uint32_t peer_max_frame() const { return peer_.max_frame_size; }
  /// The proxy's settings, as its SETTINGS frames set them.
  [[nodiscard]] const Settings& peer_settings() const { return peer_; }
  /// HPACK-encodes a header list with the connection's encoder.
  [[nodiscard]] std::optional<std::string> encode(const std::vector<Field>& fields) { return encoder_.encode(fields); }
  /// Sends serialised frames exactly as they are (a scripted fault may break flow control); notes a
  /// SETTINGS frame (not an ACK) as the server's preface sent, and what their DATA spends of the windows.
  net::awaitable<bool> send(upstream::Connection& c, std::string_view frames);
  /// Sends `head` (frames, e.g. HEADERS), then `body` as DATA on `stream` within the proxy's
  /// windows and SETTINGS_MAX_FRAME_SIZE — waiting for its WINDOW_UPDATE while they are closed, at
  /// most until the connection's deadline — with END_STREAM on the last when `end_stream`, then
  /// `tail` (e.g. trailers). False when the connection ended or the body could not go on (logged).
  net::awaitable<bool> send_flow_controlled(upstream::Connection& c, std::uint32_t stream, std::string head,
                                            std::string_view body, bool end_stream, std::string_view tail);
  /// Sends the ACK of the proxy's SETTINGS unless already sent (and the server preface, an empty
  /// SETTINGS, which serve() has sent already).
  net::awaitable<bool> ensure_settings(upstream::Connection& c);

 private:
  net::awaitable<bool> read_request(upstream::Connection& c, std::string& head);
  net::awaitable<bool> next_frame(upstream::Connection& c, Frame& f);
  // What a frame from the proxy changes (settings, windows); why it is invalid, if it is.
  [[nodiscard]] std::optional<std::string> on_control(const Frame& f);
  [[nodiscard]] std::optional<std::string> on_settings(const Frame& f);
  void on_data(const Frame& f);
  void on_later_headers(upstream::Connection& c, const Frame& f);
  void note_sent(std::string_view frames);
  void spend(std::uint32_t stream, std::size_t n);
  [[nodiscard]] std::int64_t room(std::uint32_t stream) const;
  net::awaitable<bool> write(upstream::Connection& c, std::string_view bytes);
  net::awaitable<bool> flush(upstream::Connection& c);
  net::awaitable<bool> wait_for_window(upstream::Connection& c, std::uint32_t stream, std::size_t sent,
                                       std::size_t total);
  void check(const Frame& f);
  net::awaitable<void> refuse(upstream::Connection& c);
  [[nodiscard]] bool on_headers(upstream::Connection& c, const Frame& f, std::string& block, bool& complete);

  Encoder encoder_;
  Decoder decoder_{kMaxHeaderBlock};
  std::uint32_t request_stream_ = 0;
  bool opened_ = false;                        // the request's HEADERS arrived: request_stream_ is set
  std::optional<Violation> violation_;         // the first frame the RFC refuses, before the script
  std::vector<std::uint32_t> self_dependent_;  // idle streams a PRIORITY frame made depend on themselves
  Settings peer_;
  std::int64_t send_window_ = kDefaultWindow;         // the connection's, for DATA we send
  std::int64_t stream_send_window_ = kDefaultWindow;  // the request stream's
  std::uint32_t received_ = 0;                        // DATA bytes received and not yet given back with WINDOW_UPDATE
  std::uint32_t stream_received_ = 0;                 // the same, on the request's stream
  bool auto_window_update_ = true;
  bool request_reset_ = false;  // the proxy sent RST_STREAM on the request's stream
  bool settings_sent_ = false;
  bool routed_ = false;
  bool goaway_sent_ = false;
  bool peer_settings_seen_ = false;
  bool peer_settings_acked_ = false;
  std::size_t logged_frames_ = 0;
  std::string early_;  // the frames before the request, logged once it is routed
  std::string out_;    // frames that answer the proxy's (RST_STREAM of a refused stream), for the next write
  std::optional<std::uint32_t> block_stream_;  // a header block after the request's, still open
  std::string later_block_;
  // What the proxy sent up to the request, for a hand-over to the multiplexing server
  // (upstream/h2_mux.hpp); empty when the upstream never multiplexes, or once it is over
  // kMaxReplay bytes (then there is none).
  std::string replay_;
};

/// The request rendered as an HTTP/1.1-like head ("GET /p HTTP/2\r\nhost: a\r\n...\r\n\r\n"):
/// pseudo-fields become the request line and Host, CR and LF in values become SP.
[[nodiscard]] std::string render_request_head(const std::vector<Field>& fields);

}  // namespace upfault::h2
