// One connection of the fake upstream (see connection.hpp). Injected faults are error values,
// never exceptions.
#include "upstream/connection.hpp"

#include <fmt/format.h>

#include <sys/socket.h>
#include <algorithm>
#include <array>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <cerrno>

#include "base/util.hpp"
#include "upfault/http.hpp"
#include "upstream/h2_session.hpp"
#include "upstream/steps/step.hpp"

namespace upfault::upstream {

using namespace net;
using namespace boost::asio::experimental::awaitable_operators;

namespace {
constexpr std::size_t kMaxHead = 64 * 1024;
constexpr std::size_t kMaxChunkedBody = 64 << 20;  // a chunked request body is held whole to find its end
constexpr auto kDrainAfterFin = std::chrono::seconds(2);
}  // namespace

Connection::Connection(tcp::socket sock, FakeUpstream::Impl& up, std::string_view listener, SSL_CTX* tls,
                       Slot handshake)
    : sock_(std::move(sock)), up_(up), listener_(listener), tls_ctx_(tls), handshake_slot_(std::move(handshake)) {
  error_code ec;
  sock_.set_option(tcp::no_delay(true), ec);
  sock_.non_blocking(true, ec);  // read_shared() reads what is there, or learns there is nothing
  peer_port_ = sock_.remote_endpoint(ec).port();
}

Connection::~Connection() = default;

awaitable<void> Connection::run() {
  try {
    auto which = co_await (serve() || watchdog());
    if (which.index() == 1) {  // the cap: whatever was pending has been cancelled
      finish({ConnectionEnd::capped, std::string(to_string(ConnectionEnd::capped))});
      error_code ec;
      sock_.shutdown(tcp::socket::shutdown_send, ec);
      sock_.close(ec);
    }
  } catch (const std::exception& e) {  // e.g. bad_alloc: this connection ends, the upstream goes on
    finish({ConnectionEnd::error, fmt::format("error: {}", e.what())});
  }
}

awaitable<void> Connection::watchdog() { co_await sleep_until(accepted_ + up_.options.connection_cap); }

// Routes every request on the connection, not just the first: a proxy with a keep-alive pool
// may send the next request, for any scenario, on a connection whose script has ended.
awaitable<void> Connection::serve() {
  if (tls_ctx_ && !co_await handshake_in_time()) co_return;
  auto head = co_await read_next_head();  // its length; the head stays in pending_
  if (head && h2::starts_with_preface(pending_)) {
    h2_ = std::make_unique<h2::Session>();
    co_await h2_->serve(*this);
    co_return;
  }
  if (!head) {
    if (!pending_.empty()) up_.note_unrouted();
    if (tls_ && !spoken_ && tls_failure_.empty()) note_closed_unasked();
    co_return;
  }
  while (head && !done_) {
    if (!co_await start_request(*head)) co_return;
    if (route_->plain_response && !up_.options.keep_logs && current_body_.none() && !tls_) {
      head = co_await serve_plain();
      continue;
    }
    co_await run_steps();
    if (done_) break;
    if (handover_) {
      head = std::exchange(handover_, std::nullopt);
      continue;
    }
    // Keep-alive: the script is done; wait for the next request like a real server.
    head = co_await read_next_head();
  }
  if (!done_) co_await close_fin();
}

// Routes the request whose head is the first `head_size` bytes of pending_; the head stays
// unclaimed, for the script's first `read` step. Unknown scenarios get a 404 and a close.
// The next request for the same scenario on a kept-alive connection needs no lookup, and
// with logs off nothing is allocated per request.
awaitable<bool> Connection::start_request(std::size_t head_size) {
  const auto parsed = parse_head(std::string_view(pending_).substr(0, head_size));
  const auto key = scenario_key(parsed);
  const bool reused = route_.has_value();
  if (!reused || route_->scenario->name != key) {
    auto route = up_.find(key);
    if (!route) {
      up_.note_unrouted();
      co_await reply_404(key, parsed.target);
      co_return false;
    }
    route_ = std::move(*route);
  }
  if (port_name(route_->scenario->endpoint, route_->scenario->protocol) != listener_) {
    co_await reply_misrouted(parsed.target);
    co_return false;
  }
  if (is_http2(route_->scenario->protocol) != (h2_ != nullptr)) co_return co_await reply_wrong_protocol(parsed.target);
  if (up_.options.keep_logs) {
    index_ = open_entry(*route_, arrival(reused), pending_, ConnectionEnd::open, "", request_index_);
  } else {
    request_index_ = ++route_->log->requests;
  }
  head_claimed_ = false;
  current_body_ = parsed.body;
  pending_.erase(0, head_size);
  co_return true;
}

// Both answers carry X-Upfault-Setup, which the judge reads as "the proxy is set up wrongly", never
// as the proxy's own answer.
awaitable<void> Connection::reply_setup_error(std::string_view status, std::string_view body) {
  std::string msg = fmt::format(
      "HTTP/1.1 {}\r\nContent-Type: text/plain\r\nX-Upfault-Setup: misrouted\r\nContent-Length: {}\r\n"
      "Connection: close\r\n\r\n{}",
      status, body.size(), body);
  if (h2_) {
    co_await h2_->send_setup_error(*this, status, body);
    co_return;
  }
  co_await send(msg);
  co_await close_fin();
}

awaitable<void> Connection::reply_404(std::string_view key, std::string_view target) {
  co_await reply_setup_error("404 Not Found",
                             fmt::format("upfault: no scenario named \"{}\" (target {})\n", key, target));
}

// A request reached a port other than its scenario's — an endpoint scenario's (/__refused/...) the
// scripted upstream, an https scenario's the plaintext port: the proxy's configuration does not
// route that prefix to its port. Logged for the judge.
awaitable<void> Connection::reply_misrouted(std::string_view target) {
  const auto& s = *route_->scenario;
  const auto want = port_name(s.endpoint, s.protocol);
  const auto here = listener_.empty() ? std::string_view("scripted") : listener_;
  const auto there = want.empty() ? std::string_view("scripted") : want;
  if (up_.options.keep_logs) {
    int ignored = 0;
    index_ = open_entry(
        *route_, arrival(false), pending_, ConnectionEnd::misrouted,
        fmt::format("the request ({}) reached the {} port, not the {} port", printable(target, 200), here, there),
        ignored);
  }
  co_await reply_setup_error("421 Misdirected Request",
                             fmt::format("upfault: {} reached the {} port; route {}/ to the {} port\n", target, here,
                                         upstream_prefix(s.endpoint, s.protocol), there));
}

// The fast path, for load: a plain scenario's fixed response for each bodiless request of the
// same scenario on this connection, in one loop — no step dispatch, no log, no allocation.
// Returns the next request head that is not one (its length; the head is in pending_),
// or nullopt when the connection has ended.
awaitable<std::optional<std::size_t>> Connection::serve_plain() {
  const std::string_view name = route_->scenario->name;
  const std::string& response = *route_->plain_response;
  char buf[4096];
  while (true) {
    auto [wec, wn] = co_await asio::async_write(sock_, asio::buffer(response), use_tuple);
    if (wec) {
      finish(describe(wec));
      co_return std::nullopt;
    }
    auto end = head_end(pending_);
    while (end == std::string::npos) {
      if (pending_.size() > kMaxHead) {
        finish({ConnectionEnd::error, "request head over 64 KiB"});
        co_return std::nullopt;
      }
      auto [ec, n] = co_await sock_.async_read_some(asio::buffer(buf), use_tuple);
      pending_.append(buf, n);
      if (ec) {
        finish(describe(ec));
        co_return std::nullopt;
      }
      end = head_end(pending_);
    }
    const auto next = parse_head(std::string_view(pending_).substr(0, end));
    if (scenario_key(next) != name || !next.body.none()) co_return end;
    request_index_ = ++route_->log->requests;
    pending_.erase(0, end);
  }
}

awaitable<void> Connection::run_steps() {
  const auto& steps = route_->scenario->steps;
  for (std::size_t i = 0; i < steps.size(); ++i) {
    const auto& step = steps[i];
    if (done_ || handover_) break;
    const auto& on = step.on_request;
    if (!on.empty() && std::find(on.begin(), on.end(), request_index_) == on.end()) continue;
    const auto* action = route_->steps[i];
    if (!action) {  // a StepAction made outside the step registry: nothing here can run it
      finish({ConnectionEnd::error, fmt::format("error: step \"{}\" has no upstream implementation",
                                                step.action ? step.action->kind() : "null")});
      co_await close_fin();
      break;
    }
    const Flow flow = co_await action->run(*this);
    if (flow == Flow::stop) break;
  }
  if (up_.options.verbose && index_ != kNotLogged) {
    ConnectionLog log;
    {
      std::lock_guard lock(route_->log->m);
      log = route_->log->connections[index_];
    }
    fmt::print(stderr, "[upstream] :{} {} received {} bytes, sent {}, ended: {}\n", peer_port_, route_->scenario->name,
               log.received_total, log.sent_total, log.ended.empty() ? "open" : log.ended);
  }
}

void Connection::record_received(std::string_view bytes) {
  update([&](ConnectionLog& c) {
    if (c.received.size() < kLogCap) c.received.append(bytes.substr(0, kLogCap - c.received.size()));
    c.received_total += bytes.size();
  });
}

void Connection::mark(std::string_view what) {
  update([&](ConnectionLog& c) { c.ended = what; });
}

void Connection::finish(Ended how) {
  done_ = true;
  for (const auto& [log, index] : mux_entries_) {  // a multiplexed connection's streams end with it
    std::lock_guard lock(log->m);
    auto& c = log->connections[index];
    if (c.end == ConnectionEnd::open) std::tie(c.end, c.ended) = std::pair(how.end, c.ended + ", then " + how.text);
  }
  update([&](ConnectionLog& c) {
    if (c.end != ConnectionEnd::open) return;
    c.end = how.end;
    c.ended = c.ended == "half-closed" ? c.ended + ", then " + how.text : std::move(how.text);
  });
}

Connection::Ended Connection::describe(const error_code& ec) const {
  auto said = [](ConnectionEnd e) { return Ended{e, std::string(to_string(e))}; };
  if (ec == asio::error::operation_aborted) return said(ConnectionEnd::capped);  // only the watchdog cancels
  if (ec == asio::error::eof) return said(ConnectionEnd::peer_closed);
  if (is_reset(ec)) return said(ConnectionEnd::peer_reset);
  if (!tls_failure_.empty() && ec == error_code(EPROTO, boost::system::system_category()))
    return {ConnectionEnd::error, fmt::format("error: TLS: {}", tls_failure_)};
  return {ConnectionEnd::error, "error: " + ec.message()};
}

Millis Connection::resolve(const DurationExpr& d) const { return d.resolve(up_.options.timeouts); }

// Reads until pending_ holds a whole request head; returns its length (not yet consumed).
awaitable<std::optional<std::size_t>> Connection::read_next_head() {
  while (true) {
    if (auto end = head_end(pending_); end != std::string::npos) co_return end;
    if (pending_.size() > kMaxHead) {
      finish({ConnectionEnd::error, "request head over 64 KiB"});
      co_return std::nullopt;
    }
    if (auto ec = co_await read_more()) {
      finish(describe(ec));
      co_return std::nullopt;
    }
    // 0x16 starts a TLS handshake record, never a request: told and closed, or both sides would wait.
    if (!tls_ && !h2_ && pending_.front() == '\x16') {
      note_tls_on_plain();
      finish({ConnectionEnd::error, "a TLS handshake on a plaintext port"});
      co_return std::nullopt;
    }
  }
}

awaitable<bool> Connection::read_head() {
  if (!head_claimed_) {
    head_claimed_ = true;
    co_return true;
  }
  auto head = co_await read_next_head();
  if (!head) co_return false;
  const auto parsed = parse_head(std::string_view(pending_).substr(0, *head));
  const auto key = scenario_key(parsed);
  if (key != route_->scenario->name) {
    // The proxy reused this connection for another scenario's request: hand it over.
    update([&](ConnectionLog& c) {
      c.end = ConnectionEnd::reused;
      c.ended = "reused for " + std::string(key);
    });
    handover_ = *head;
    co_return false;
  }
  current_body_ = parsed.body;
  pending_.erase(0, *head);
  update([](ConnectionLog& c) { ++c.requests; });
  request_index_ = ++route_->log->requests;
  co_return true;
}

awaitable<bool> Connection::read_body() {
  if (h2_) co_return true;  // HTTP/2: the body comes as DATA frames, which the session logs
  if (!current_body_.chunked) co_return co_await read_bytes(current_body_.content_length.value_or(0));
  while (true) {
    if (auto len = chunked_length(pending_)) {
      pending_.erase(0, *len);
      co_return true;
    }
    if (pending_.size() > kMaxChunkedBody) {
      finish({ConnectionEnd::error, "chunked request body over 64 MiB"});
      co_return false;
    }
    if (auto ec = co_await read_more()) {
      finish(describe(ec));
      co_return false;
    }
  }
}

// Consumes as it reads, so a huge Content-Length costs no memory.
awaitable<bool> Connection::read_bytes(std::size_t n) {
  while (true) {
    const auto take = std::min(n, pending_.size());
    pending_.erase(0, take);
    n -= take;
    if (n == 0) co_return true;
    if (auto ec = co_await read_more()) {
      finish(describe(ec));
      co_return false;
    }
  }
}

// On HTTP/2 the proxy's frames are read and answered meanwhile (a new stream is refused at once).
awaitable<void> Connection::wait_until(Clock::time_point t) {
  if (!h2_) co_return co_await sleep_until(t);
  [[maybe_unused]] const bool pumped = co_await h2_->pump_until(*this, t);
}

awaitable<bool> Connection::wait_for_input(Clock::time_point t) {
  if (!pending_.empty()) co_return true;
  auto readable = [this]() -> awaitable<void> { co_await sock_.async_wait(tcp::socket::wait_read, use_tuple); };
  auto first = co_await (readable() || sleep_until(t));
  co_return first.index() == 0;
}

// The reactor may report a readiness that reads (non-blocking, outside it) have already used up:
// a peek tells that from bytes or an EOF waiting, so the read that follows never blocks past `t`.
awaitable<bool> Connection::wait_readable(Clock::time_point t) {
  auto readable = [this]() -> awaitable<void> { co_await sock_.async_wait(tcp::socket::wait_read, use_tuple); };
  while (true) {
    auto first = co_await (readable() || sleep_until(t));
    if (first.index() == 1) co_return false;
    char byte = 0;
    const auto n = ::recv(sock_.native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
    if (n >= 0 || (errno != EAGAIN && errno != EWOULDBLOCK)) co_return true;
  }
}

void Connection::half_close() {
  error_code ec;
  sock_.shutdown(tcp::socket::shutdown_send, ec);
  update([](ConnectionLog& c) { c.ended = "half-closed"; });
}

awaitable<void> Connection::close_fin(bool notify) {
  if (tls_ && notify) {
    tls_->close_notify();
    co_await write_raw(tls_->output());
  }
  error_code ec;
  sock_.shutdown(tcp::socket::shutdown_send, ec);
  finish({ConnectionEnd::fin, "fin"});
  co_await (drain() || sleep_until(Clock::now() + kDrainAfterFin));
  sock_.close(ec);
}

// Reads what the proxy still sends after our FIN, so that close() does not turn the FIN into an
// RST (the kernel resets a connection closed with unread data).
awaitable<void> Connection::drain() {
  while (!co_await read_more()) {
    if (h2_) h2_->log_frames(*this);
    // A request that arrives after our FIN came on a connection the proxy should not have
    // reused: record it under its own scenario, so that verdict can say where it went.
    if (auto end = head_end(pending_); end != std::string::npos) note_swallowed(pending_.substr(0, end));
    pending_.clear();
  }
}

void Connection::note_swallowed(const std::string& head) {
  if (!up_.options.keep_logs) return;
  auto route = up_.find(scenario_key(parse_head(head)));
  if (!route) return;
  int ignored = 0;
  open_entry(*route, arrival(true), head, ConnectionEnd::after_close,
             fmt::format("arrived after the upstream had closed (FIN) the connection it reused from scenario {}; "
                         "never answered",
                         route_ ? route_->scenario->name : std::string("?")),
             ignored);
}

void Connection::close_rst() {
  error_code ec;
  // SO_LINGER with a zero timeout: close() sends RST instead of FIN.
  sock_.set_option(asio::socket_base::linger(true, 0), ec);
  sock_.close(ec);
  finish({ConnectionEnd::rst, "rst"});
}

// `connection` is held, and given back, with the coroutine's frame.
awaitable<void> serve_connection(tcp::socket sock, FakeUpstream::Impl& up, [[maybe_unused]] Slot connection,
                                 std::string_view listener, SSL_CTX* tls, Slot handshake) {
  Connection c(std::move(sock), up, listener, tls, std::move(handshake));
  co_await c.run();
}

}  // namespace upfault::upstream
