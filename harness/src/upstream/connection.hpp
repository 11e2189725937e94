#pragma once
// One accepted connection of the fake upstream: routes each request on it to its scenario and
// runs that scenario's steps (harness/src/upstream/steps/), or the fast path for a plain scenario.
//
// One cancellation mechanism: the whole connection runs as `serve() || watchdog()`, so reaching
// the connection cap cancels whatever operation is pending; a step that waits for a bounded time
// joins its wait with a timer the same way. No operation carries its own deadline.
#include <atomic>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "io/net.hpp"
#include "model/wire.hpp"
#include "tls/engine.hpp"
#include "upstream/server.hpp"

namespace upfault::h2 {
class Session;
struct FixedResponse;
}  // namespace upfault::h2

namespace upfault::upstream {

class Connection {
 public:
  /// `listener`: the PortField name of the port it came in on ("" for the scripted port); with
  /// `tls`, the connection speaks TLS with that context (the handshake comes first, within
  /// Options::handshake_timeout, holding `handshake` until it ends).
  Connection(net::tcp::socket sock, FakeUpstream::Impl& up, std::string_view listener = "", SSL_CTX* tls = nullptr,
             Slot handshake = {});
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  /// Serves the connection until it ends or the cap is reached.
  net::awaitable<void> run();

  // What steps do. Each returns false when the connection is over for this script (an error, a
  // close, or a request for another scenario that is handed over); the reason is in the log.

  /// Claims the next request head: the routed one if no step has claimed it yet.
  net::awaitable<bool> read_head();
  /// Reads the current request's body (Content-Length or chunked).
  net::awaitable<bool> read_body();
  /// Reads and discards `n` bytes.
  net::awaitable<bool> read_bytes(std::size_t n);
  net::awaitable<bool> send(std::string_view bytes);
  /// Waits until `t` (or the cap).
  net::awaitable<void> wait_until(net::Clock::time_point t);
  /// Waits until the proxy sends something (or has already: unread input counts) or `t` passes;
  /// true when there is input. Nothing is consumed.
  net::awaitable<bool> wait_for_input(net::Clock::time_point t);
  /// Waits until the socket is readable or `t` passes (unread input does not count); true when readable.
  net::awaitable<bool> wait_readable(net::Clock::time_point t);
  /// Shuts down the sending side (FIN) and keeps the connection.
  void half_close();
  /// FIN, then drains what the proxy still sends (so close does not turn into RST), then closes.
  /// Over TLS with `notify`, a close_notify first; without, the FIN alone (a truncation attack's close).
  net::awaitable<void> close_fin(bool notify = true);
  /// Closes with SO_LINGER 0: the kernel sends RST.
  void close_rst();
  /// Over TLS: a close_notify alert (the TCP connection stays open).
  net::awaitable<bool> tls_close_notify();
  /// Over TLS: a fatal alert (bad_record_mac), after which the session is over; the TCP connection
  /// stays open.
  net::awaitable<bool> tls_fatal_alert();
  /// Over TLS: encrypts `bytes` and sends only the first `keep` bytes of the records (a record cut
  /// short); the connection stays open.
  net::awaitable<bool> tls_send_partial(std::string_view bytes, std::size_t keep);
  /// Sends `bytes` on the TCP connection as they are, outside TLS (the proxy reads them as records).
  net::awaitable<bool> send_raw(std::string_view bytes);
  [[nodiscard]] bool is_tls() const { return tls_ != nullptr; }
  /// The protocol ALPN selected on a TLS connection ("" when none, or in plaintext).
  [[nodiscard]] std::string_view alpn() const { return tls_ ? tls_->alpn() : std::string_view(); }
  /// Reads and discards until the proxy closes, or for `duration` and then close_fin().
  net::awaitable<void> hang(std::optional<Millis> duration);
  [[nodiscard]] Millis resolve(const DurationExpr& d) const;

  // For the HTTP/2 server (upstream/h2_session.hpp), which does all its I/O through these, so it runs over
  // any transport the connection has.

  /// The HTTP/2 session, once the proxy sent the connection preface; else null.
  [[nodiscard]] h2::Session* h2() const { return h2_.get(); }
  /// Bytes read and not yet consumed.
  [[nodiscard]] std::string& input() { return pending_; }
  /// Reads more bytes into input(); the error, if any, has ended the connection (in the log).
  [[nodiscard]] net::awaitable<bool> read_input();
  /// Routes a request decoded from HTTP/2 frames, rendered as an HTTP/1.1-like head (logged as
  /// what the upstream received); false when the connection is over (a setup error was answered).
  [[nodiscard]] net::awaitable<bool> start_h2_request(std::string head);
  /// Runs the routed scenario's steps.
  net::awaitable<void> run_script() { co_await run_steps(); }
  /// Appends a line to what the log says the proxy sent (frames, summarised), bounded.
  void note_received(std::string_view line) { record_received(line); }
  /// Ends the connection's log entry with an error.
  void fail(std::string text);
  /// Ends the connection's log entry as timed out (a wait of the script's ran out).
  void time_out(std::string text) { finish({ConnectionEnd::timed_out, std::move(text)}); }
  /// When every wait on this connection ends at the latest: its cap (Options::connection_cap).
  [[nodiscard]] net::Clock::time_point deadline() const { return accepted_ + up_.options.connection_cap; }
  /// True when the scenario being served has a step of `kind` anywhere in its script.
  [[nodiscard]] bool scenario_has_step(std::string_view kind) const;
  /// Ends the connection's log entry as a protocol error of the proxy's (`text` says which).
  void protocol_error(std::string text);
  /// Opens a log entry under the scenario a request the HTTP/2 server refuses names (its rendered
  /// head), without the setup checks or answers of a served request: the session then ends it
  /// with protocol_error(). Counted as unrouted when it names no scenario.
  void log_refused_h2_request(std::string_view head);
  /// Logs a request the HTTP/2 server refused on a new `stream` (RST_STREAM REFUSED_STREAM while
  /// the connection serves `served`; after its FIN, the final GOAWAY) under the scenario its
  /// rendered head names, counting no request.
  void note_refused_stream(std::string_view head, std::uint32_t stream, std::uint32_t served);
  [[nodiscard]] bool over() const { return done_; }

  // For the multiplexing HTTP/2 server (upstream/h2_mux.hpp).

  /// True when the upstream multiplexes at all (Options::h2_multiplex: serve, bench; never a run).
  [[nodiscard]] bool may_multiplex() const { return up_.options.h2_multiplex; }
  /// True when the upstream multiplexes (Options::h2_multiplex) and `head` (a rendered HTTP/2
  /// request) routes to a scenario with a multiplexed response (Route::h2_response) on this port.
  [[nodiscard]] bool multiplexes(std::string_view head);
  /// Routes a request on a multiplexed connection and counts it (with logs, logs it): the response
  /// to send, or null when the stream is refused (another scenario's, which needs a connection of
  /// its own, or none's; noted in that scenario's log).
  [[nodiscard]] std::shared_ptr<const h2::FixedResponse> route_multiplexed(std::string_view head, std::uint32_t stream);

 private:
  struct Ended {
    ConnectionEnd end;
    std::string text;
  };

  net::awaitable<void> serve();
  net::awaitable<bool> handshake_in_time();
  net::awaitable<bool> handshake();
  net::awaitable<std::pair<net::error_code, std::string_view>> read_shared();
  net::awaitable<net::error_code> read_tls();
  net::awaitable<net::error_code> write_raw(std::string_view raw);
  [[nodiscard]] bool valid_certificate_port() const;  ///< tls or tls-h2: the certificate a proxy must accept
  void note_refusal();
  void note_closed_unasked();
  void note_spoken();
  void note_tls_on_plain();
  net::awaitable<void> watchdog();
  net::awaitable<bool> start_request(std::size_t head_size);
  net::awaitable<std::optional<std::size_t>> serve_plain();
  net::awaitable<void> run_steps();
  net::awaitable<net::error_code> read_more();
  net::awaitable<std::optional<std::size_t>> read_next_head();
  net::awaitable<net::error_code> discard_until_closed();
  net::awaitable<void> drain();
  net::awaitable<void> reply_404(std::string_view key, std::string_view target);
  net::awaitable<void> reply_misrouted(std::string_view target);
  net::awaitable<void> reply_setup_error(std::string_view status, std::string_view body);
  net::awaitable<bool> reply_wrong_protocol(std::string_view target);
  void note_swallowed(const std::string& head);
  void record_received(std::string_view bytes);
  void finish(Ended how);
  /// Notes what the connection did, until it ends ("half-closed", "close_notify sent").
  void mark(std::string_view what);
  [[nodiscard]] Ended describe(const net::error_code& ec) const;
  /// This connection as a log entry records it (`reused`: it served another scenario's request before).
  [[nodiscard]] Arrival arrival(bool reused) const {
    return {accepted_, id_, reused, listener_, is_tls(), h2_ != nullptr};
  }
  template <typename F>
  void update(F&& f);

  net::tcp::socket sock_;
  FakeUpstream::Impl& up_;
  std::string_view listener_;
  SSL_CTX* tls_ctx_ = nullptr;
  Slot handshake_slot_;
  std::unique_ptr<tls::Engine> tls_;  // made once the ClientHello's first record is whole
  std::string tls_failure_;           // why the TLS session failed, once it has
  bool spoken_ = false;               // some plaintext came over TLS (a request, or the HTTP/2 preface)
  net::Clock::time_point accepted_ = net::Clock::now();
  const std::uint64_t id_ = next_id();  // tells apart the log entries of one kept-alive connection
  static std::uint64_t next_id() {
    static std::atomic<std::uint64_t> last{0};
    return ++last;
  }
  unsigned short peer_port_ = 0;
  std::string pending_;  // read, not yet consumed by a step
  std::optional<Route> route_;
  std::size_t index_ = kNotLogged;
  int request_index_ = 0;  // the scenario's request this connection is serving (1-based)
  BodyFraming current_body_;
  bool head_claimed_ = true;
  bool done_ = false;
  std::unique_ptr<h2::Session> h2_;      // set when the proxy speaks HTTP/2
  std::optional<std::size_t> handover_;  // a request head for another scenario, read mid-script (in pending_)
  // Multiplexed: the scenario served last, and the log entries of the streams served (finish() ends them all).
  std::optional<Route> mux_route_;
  bool mux_mixed_ = false;  // it has served more than one scenario
  std::vector<std::pair<std::shared_ptr<ScenarioLog>, std::size_t>> mux_entries_;
};

template <typename F>
void Connection::update(F&& f) {
  if (!route_ || index_ == kNotLogged) return;
  std::lock_guard lock(route_->log->m);
  f(route_->log->connections[index_]);
}

/// Runs a Connection on `sock` (what the server spawns for each accepted connection), holding
/// `connection` until it ends.
net::awaitable<void> serve_connection(net::tcp::socket sock, FakeUpstream::Impl& up, Slot connection,
                                      std::string_view listener = "", SSL_CTX* tls = nullptr, Slot handshake = {});

}  // namespace upfault::upstream
