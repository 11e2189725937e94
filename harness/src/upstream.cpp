// The fake upstream. The server owns sockets and lifecycle; a Session runs one scenario's
// steps on one connection. Injected faults are error values, never exceptions.
#include "upfault/upstream.hpp"

#include <fmt/format.h>
#include <array>
#include <atomic>
#include <condition_variable>
#include <map>
#include <mutex>
#include <set>
#include <poll.h>
#include <thread>

#include "net.hpp"
#include "util.hpp"

namespace upfault {

using namespace net;


namespace {
constexpr std::string_view kRouteMarker = "/__upfault/";
constexpr std::size_t kMaxHead = 64 * 1024;
constexpr std::size_t kLogCap = 64 * 1024;
constexpr auto kDrainAfterFin = std::chrono::seconds(2);
}  // namespace

std::string route_prefix(std::string_view scenario) { return fmt::format("/__upfault/{}", scenario); }

namespace {
std::string_view route_key_view(std::string_view target) {
  auto at = target.find(kRouteMarker);
  if (at == std::string_view::npos) return {};
  auto rest = target.substr(at + kRouteMarker.size());
  return rest.substr(0, rest.find_first_of("/?#"));
}
}  // namespace

std::string route_key(std::string_view target) { return std::string(route_key_view(target)); }

namespace {

// What the upstream saw for one scenario; connections append to it as they go.
struct ScenarioLog {
  std::mutex m;
  std::vector<ConnectionLog> connections;  // at most kMaxLogged entries: a long `serve` stays bounded
  std::atomic<int> requests{0};  // across all connections: the index of the latest request
};
constexpr std::size_t kMaxLogged = 10'000;
constexpr std::size_t kNotLogged = static_cast<std::size_t>(-1);

struct Route {
  std::shared_ptr<const Scenario> scenario;
  std::shared_ptr<ScenarioLog> log;
  /// For a plain scenario — read the request, send fixed bytes, keep the connection — those
  /// bytes, which the fast path sends for each request; else null.
  const std::string* plain_response = nullptr;
};

// The fixed response of a plain scenario (see Route::plain_response), or null.
const std::string* plain_response(const Scenario& s) {
  if (s.endpoint != Endpoint::scripted || s.steps.size() != 2) return nullptr;
  const auto* read = std::get_if<step::Read>(&s.steps[0].action);
  const auto* send = std::get_if<step::Send>(&s.steps[1].action);
  if (!read || read->what != step::Read::What::request || !send) return nullptr;
  if (!s.steps[0].on_request.empty() || !s.steps[1].on_request.empty()) return nullptr;
  return &send->bytes;
}

// How a request's body is framed.
struct BodyFraming {
  std::optional<std::size_t> content_length;
  bool chunked = false;
  [[nodiscard]] bool none() const { return !chunked && content_length.value_or(0) == 0; }
};

// A parsed request head: enough to route and to find the body's length. The views point into
// the buffer that holds the head and are only used before it is consumed.
struct RequestHead {
  std::string_view target;
  std::string_view scenario_header;
  BodyFraming body;
};

RequestHead parse_head(std::string_view head) {
  RequestHead h;
  auto line_end = head.find('\n');
  std::string_view line = head.substr(0, line_end);
  auto sp1 = line.find(' ');
  if (sp1 != std::string_view::npos) {
    auto sp2 = line.find(' ', sp1 + 1);
    h.target = line.substr(sp1 + 1, sp2 == std::string_view::npos ? std::string_view::npos : sp2 - sp1 - 1);
  }
  while (line_end != std::string_view::npos) {
    head.remove_prefix(line_end + 1);
    line_end = head.find('\n');
    std::string_view field = head.substr(0, line_end);
    if (!field.empty() && field.back() == '\r') field.remove_suffix(1);
    auto colon = field.find(':');
    if (colon == std::string_view::npos) continue;
    auto name = field.substr(0, colon);
    auto value = field.substr(colon + 1);
    while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
    if (iequals(name, "content-length")) {
      std::size_t n = 0;
      bool ok = !value.empty();
      for (char c : value) ok = ok && c >= '0' && c <= '9', n = n * 10 + static_cast<std::size_t>(c - '0');
      if (ok) h.body.content_length = n;
    } else if (iequals(name, "transfer-encoding")) {
      h.body.chunked = value.find("chunked") != std::string_view::npos;
    } else if (iequals(name, "x-upfault-scenario")) {
      h.scenario_header = value;
    }
  }
  return h;
}

// The scenario a request names: its X-Upfault-Scenario header, else its path.
std::string_view scenario_key(const RequestHead& h) {
  return h.scenario_header.empty() ? route_key_view(h.target) : h.scenario_header;
}

// Adds an entry for one request's connection to the scenario's log; returns its index (kNotLogged
// once the log is full) and sets `request_index` to the scenario's count of requests so far.
std::size_t open_entry(const Route& route, Clock::time_point accepted, bool reused, std::string_view received,
                       ConnectionEnd end, std::string ended, int& request_index) {
  std::lock_guard lock(route.log->m);
  request_index = ++route.log->requests;
  if (route.log->connections.size() >= kMaxLogged) return kNotLogged;
  ConnectionLog c;
  c.accepted = accepted;
  c.reused = reused;
  c.requests = 1;
  c.received = std::string(received.substr(0, kLogCap));
  c.received_total = received.size();
  c.end = end;
  c.ended = std::move(ended);
  route.log->connections.push_back(std::move(c));
  return route.log->connections.size() - 1;
}

// Length of a complete chunked body at the front of `buf`, or nullopt while incomplete.
std::optional<std::size_t> chunked_length(std::string_view buf) {
  std::size_t pos = 0;
  while (true) {
    auto eol = buf.find("\r\n", pos);
    if (eol == std::string_view::npos) return std::nullopt;
    std::size_t size = 0;
    auto digits = buf.substr(pos, eol - pos);
    for (char c : digits) {
      int v = std::isxdigit(static_cast<unsigned char>(c)) ? (std::isdigit(static_cast<unsigned char>(c)) ? c - '0' : (std::tolower(c) - 'a' + 10)) : -1;
      if (v < 0) break;  // chunk extension
      size = size * 16 + static_cast<std::size_t>(v);
    }
    pos = eol + 2;
    if (size == 0) {  // trailers end with an empty line
      auto end = buf.find("\r\n", pos);
      while (end != std::string_view::npos && end != pos) {
        pos = end + 2;
        end = buf.find("\r\n", pos);
      }
      if (end == std::string_view::npos) return std::nullopt;
      return end + 2;
    }
    if (buf.size() < pos + size + 2) return std::nullopt;
    pos += size + 2;
  }
}

}  // namespace

struct FakeUpstream::Impl {
  explicit Impl(Options o)
      : options(std::move(o)), acceptor(ioc), refused(ioc), blackhole(ioc), accept_close(ioc), accept_reset(ioc) {
    listen(acceptor, options.ports.scripted, asio::socket_base::max_listen_connections);
    // A socket that is bound but never listens: the kernel refuses connects to its port,
    // and holding it keeps anyone else from taking the port during the run.
    auto ep = endpoint(options.host, options.ports.refused);
    refused.open(ep.protocol());
    close_on_exec(refused.native_handle());
    refused.bind(ep);
    // Backlog 0 holds one unaccepted connection; ours fill it, and the kernel then drops
    // every SYN, so a proxy's connect never completes and its connect timeout fires.
    listen(blackhole, options.ports.blackhole, 0);
    listen(accept_close, options.ports.accept_close, asio::socket_base::max_listen_connections);
    listen(accept_reset, options.ports.accept_reset, asio::socket_base::max_listen_connections);
  }

  void listen(tcp::acceptor& a, std::uint16_t port, int backlog) {
    auto ep = endpoint(options.host, port);
    a.open(ep.protocol());
    close_on_exec(a.native_handle());
    a.set_option(tcp::acceptor::reuse_address(true));
    a.bind(ep);
    a.listen(backlog);
  }

  void fill_accept_queue() {
    const auto target = blackhole.local_endpoint();
    for (int i = 0; i < 8; ++i) {
      tcp::socket s(ioc);
      s.open(target.protocol());
      s.non_blocking(true);
      // connect(2) itself: Asio's synchronous connect waits even on a non-blocking socket.
      const int rc = ::connect(s.native_handle(), target.data(), static_cast<socklen_t>(target.size()));
      if (rc != 0 && errno == EINPROGRESS) {
        pollfd p{s.native_handle(), POLLOUT, 0};
        if (::poll(&p, 1, 50) <= 0) break;  // on loopback a queued connect completes at once: the queue is full
        int err = 0;
        socklen_t len = sizeof err;
        ::getsockopt(s.native_handle(), SOL_SOCKET, SO_ERROR, &err, &len);
        if (err != 0) break;
      } else if (rc != 0) {
        break;
      }
      fillers.push_back(std::move(s));
    }
  }

  // accept-close: FIN at once (then drain, so the close is not turned into an RST);
  // accept-reset: RST at once. Neither reads the request.
  awaitable<void> act_before_reading(tcp::acceptor& a, bool reset) {
    while (true) {
      auto [ec, sock] = co_await a.async_accept(use_tuple);
      if (ec == asio::error::operation_aborted) co_return;
      if (ec) {
        if (!co_await back_off(ec)) co_return;
        continue;
      }
      error_code ignored;
      if (reset) {
        sock.set_option(asio::socket_base::linger(true, 0), ignored);
        sock.close(ignored);
        continue;
      }
      sock.shutdown(tcp::socket::shutdown_send, ignored);
      asio::co_spawn(ioc, drain_and_close(std::move(sock)), asio::detached);
    }
  }

  static awaitable<void> drain_and_close(tcp::socket sock) {
    beast::tcp_stream s(std::move(sock));
    char buf[4096];
    s.expires_after(kDrainAfterFin);
    while (true) {
      auto [ec, n] = co_await s.async_read_some(asio::buffer(buf), use_tuple);
      if (ec) break;
    }
  }

  // After a failed accept: waits 100 ms (false when the upstream is stopping meanwhile), and
  // says so once per error kind.
  awaitable<bool> back_off(const error_code& ec) {
    {
      std::lock_guard lock(m);
      if (accept_failures.size() < kKeptFailures) accept_failures.push_back(Clock::now());
    }
    accept_failed.notify_all();
    if (options.verbose && reported_accept_errors.insert(ec.value()).second)
      fmt::print(stderr, "upfault upstream: accept failed ({}); retrying every 100 ms\n", ec.message());
    asio::steady_timer t(ioc, std::chrono::milliseconds(100));
    auto [wec] = co_await t.async_wait(use_tuple);
    co_return !wec && acceptor.is_open();
  }

  void spawn_acceptors() {
    asio::co_spawn(ioc, accept_loop(), asio::detached);
    asio::co_spawn(ioc, act_before_reading(accept_close, false), asio::detached);
    asio::co_spawn(ioc, act_before_reading(accept_reset, true), asio::detached);
  }

  Options options;
  // With options.threads > 1: one io_context and thread per worker; accepted connections are
  // dealt out round-robin, and each stays on its worker for life. Declared before `ioc`, so they
  // outlive it: a pending accept on `ioc` holds a socket that belongs to a worker.
  std::vector<std::unique_ptr<asio::io_context>> workers;
  std::vector<std::thread> worker_threads;
  std::size_t next_worker = 0;
  asio::io_context ioc{1};  // acceptors, and the sessions too when there is one thread
  tcp::acceptor acceptor;
  tcp::socket refused;
  tcp::acceptor blackhole;
  std::vector<tcp::socket> fillers;
  tcp::acceptor accept_close;
  tcp::acceptor accept_reset;
  std::thread thread;
  mutable std::mutex m;
  std::map<std::string, Route, std::less<>> routes;
  int unrouted = 0;
  std::set<int> reported_accept_errors;
  std::vector<Clock::time_point> accept_failures;  // the first kKeptFailures, under `m`
  std::condition_variable accept_failed;
  static constexpr std::size_t kKeptFailures = 64;

  asio::io_context& session_context() {
    if (workers.empty()) return ioc;
    return *workers[next_worker++ % workers.size()];
  }

  awaitable<void> accept_loop() {
    while (true) {
      auto& target = session_context();
      auto [ec, sock] = co_await acceptor.async_accept(target, use_tuple);
      if (ec == asio::error::operation_aborted) co_return;
      if (ec) {
        // E.g. EMFILE: keep serving the connections we have, and try again a little later
        // rather than at once (accept would fail again at once: a busy loop).
        if (!co_await back_off(ec)) co_return;
        continue;
      }
      asio::co_spawn(target, session(std::move(sock)), asio::detached);
    }
  }

  void start_workers() {
    for (unsigned i = 1; i < options.threads; ++i) workers.push_back(std::make_unique<asio::io_context>(1));
    for (auto& w : workers) {
      worker_threads.emplace_back([&w] {
        auto guard = asio::make_work_guard(*w);
        w->run();
      });
    }
  }

  void stop() {
    ioc.stop();
    for (auto& w : workers) w->stop();
    for (auto& t : worker_threads)
      if (t.joinable()) t.join();
  }

  std::optional<Route> find(std::string_view key) {
    std::lock_guard lock(m);
    auto it = routes.find(key);
    if (it == routes.end()) return std::nullopt;
    return it->second;
  }

  awaitable<void> session(tcp::socket sock);
};

namespace {

// One connection running one scenario's steps.
class Session {
 public:
  Session(tcp::socket sock, FakeUpstream::Impl& up)
      : stream_(std::move(sock)), up_(up), cap_(Clock::now() + up.options.connection_cap) {
    error_code ec;
    stream_.socket().set_option(tcp::no_delay(true), ec);
    peer_port_ = stream_.socket().remote_endpoint(ec).port();
  }
  ~Session() {
    if (cap_token_) *cap_token_ = nullptr;
  }
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  // Routes every request on the connection, not just the first: a proxy with a keep-alive pool
  // may send the next request, for any scenario, on a connection whose script has ended.
  awaitable<void> run() {
    auto head = co_await read_head(cap_);  // its length; the head stays in pending_
    if (!head) {
      if (!pending_.empty()) note_unrouted();
      co_return;
    }
    while (head && !done_) {
      if (!co_await start_request(*head)) co_return;
      if (route_->plain_response && !up_.options.keep_logs && current_body_.none()) {
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
      head = co_await read_head(cap_);
    }
    if (!done_) co_await close_fin();
  }

 private:
  // Routes the request whose head is the first `head_size` bytes of pending_; the head stays
  // unclaimed, for the script's first `read` step. Unknown scenarios get a 404 and a close.
  // The next request for the same scenario on a kept-alive connection needs no lookup, and
  // with logs off nothing is allocated per request.
  awaitable<bool> start_request(std::size_t head_size) {
    const auto parsed = parse_head(std::string_view(pending_).substr(0, head_size));
    const auto key = scenario_key(parsed);
    const bool reused = route_.has_value();
    if (!reused || route_->scenario->name != key) {
      auto route = up_.find(key);
      if (!route) {
        note_unrouted();
        std::string body = fmt::format("upfault: no scenario named \"{}\" (target {})\n", key, parsed.target);
        std::string msg = fmt::format(
            "HTTP/1.1 404 Not Found\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{}",
            body.size(), body);
        co_await write(msg);
        co_await close_fin();
        co_return false;
      }
      route_ = std::move(*route);
    }
    if (up_.options.keep_logs) {
      index_ = open_entry(*route_, accepted_, reused, pending_, ConnectionEnd::open, "", request_index_);
    } else {
      request_index_ = ++route_->log->requests;
    }
    head_claimed_ = false;
    current_body_ = parsed.body;
    pending_.erase(0, head_size);
    co_return true;
  }

  // The fast path, for load: a plain scenario's fixed response for each bodiless request of the
  // same scenario on this connection, in one loop — no step dispatch, no log, no allocation.
  // Returns the next request head that is not one (its length; the head is in pending_),
  // or nullopt when the connection has ended.
  // Its socket operations bypass the stream's per-operation timer: one timer per connection
  // enforces the connection cap instead.
  awaitable<std::optional<std::size_t>> serve_plain() {
    const std::string_view name = route_->scenario->name;
    const std::string& response = *route_->plain_response;
    arm_cap_timer();
    auto& sock = stream_.socket();
    char buf[4096];
    while (true) {
      auto [wec, wn] = co_await asio::async_write(sock, asio::buffer(response), use_tuple);
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
        auto [ec, n] = co_await sock.async_read_some(asio::buffer(buf), use_tuple);
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

  // Cancels the socket's operations when the connection cap is reached. The handler holds a
  // token, not the Session, so it is harmless if it runs after the Session is gone.
  void arm_cap_timer() {
    if (cap_timer_) return;
    cap_timer_.emplace(stream_.get_executor());
    cap_token_ = std::make_shared<Session*>(this);
    cap_timer_->expires_at(cap_);
    cap_timer_->async_wait([token = cap_token_](error_code ec) {
      if (ec || !*token) return;
      Session& self = **token;
      self.capped_ = true;
      error_code ignored;
      self.stream_.socket().cancel(ignored);
    });
  }

  awaitable<void> run_steps() {
    for (const auto& step : route_->scenario->steps) {
      if (done_ || handover_) break;
      const auto& on = step.on_request;
      if (!on.empty() && std::find(on.begin(), on.end(), request_index_) == on.end()) continue;
      bool ok = co_await std::visit([this](const auto& s) { return execute(s); }, step.action);
      if (!ok) break;
    }
    if (verbose() && index_ != kNotLogged) {
      auto log = snapshot();
      fmt::print(stderr, "[upstream] :{} {} received {} bytes, sent {}, ended: {}\n", peer_port_,
                 route_->scenario->name, log.received_total, log.sent_total, log.ended.empty() ? "open" : log.ended);
    }
  }

  beast::tcp_stream stream_;
  FakeUpstream::Impl& up_;
  Clock::time_point accepted_ = Clock::now();
  Clock::time_point cap_;
  unsigned short peer_port_ = 0;
  std::string pending_;  // read, not yet consumed by a step
  std::optional<Route> route_;
  std::size_t index_ = kNotLogged;
  int request_index_ = 0;  // the scenario's request this connection is serving (1-based)
  BodyFraming current_body_;
  bool head_claimed_ = true;
  bool done_ = false;
  std::optional<std::size_t> handover_;  // a request head for another scenario, read mid-script (in pending_)
  std::optional<asio::steady_timer> cap_timer_;  // the fast path's connection cap
  std::shared_ptr<Session*> cap_token_;
  bool capped_ = false;

  bool verbose() const { return up_.options.verbose; }
  Millis resolve(const DurationExpr& d) const { return d.resolve(up_.options.timeouts); }

  void note_unrouted() {
    std::lock_guard lock(up_.m);
    ++up_.unrouted;
  }

  template <typename F>
  void update(F&& f) {
    if (!route_ || index_ == kNotLogged) return;
    std::lock_guard lock(route_->log->m);
    f(route_->log->connections[index_]);
  }
  ConnectionLog snapshot() {
    std::lock_guard lock(route_->log->m);
    return route_->log->connections[index_];
  }

  void record_received(std::string_view bytes) {
    update([&](ConnectionLog& c) {
      if (c.received.size() < kLogCap) c.received.append(bytes.substr(0, kLogCap - c.received.size()));
      c.received_total += bytes.size();
    });
  }
  // How a connection ended: the kind, and the words for the log.
  struct Ended {
    ConnectionEnd end;
    std::string text;
  };
  void finish(Ended how) {
    done_ = true;
    update([&](ConnectionLog& c) {
      if (c.end != ConnectionEnd::open) return;
      c.end = how.end;
      c.ended = c.ended == "half-closed" ? c.ended + ", then " + how.text : std::move(how.text);
    });
  }

  // Reads more bytes into pending_, bounded by `deadline`. Returns the error, if any.
  awaitable<error_code> read_more(Clock::time_point deadline) {
    char buf[2048];
    stream_.expires_at(std::min(deadline, cap_));
    auto [ec, n] = co_await stream_.async_read_some(asio::buffer(buf), use_tuple);
    if (n > 0) {
      pending_.append(buf, n);
      record_received({buf, n});
    }
    co_return ec;
  }

  Ended describe(const error_code& ec) const {
    auto said = [](ConnectionEnd e) { return Ended{e, std::string(to_string(e))}; };
    if (capped_) return said(ConnectionEnd::capped);  // the fast path's cap timer cancelled the operation
    if (ec == asio::error::eof) return said(ConnectionEnd::peer_closed);
    if (is_reset(ec)) return said(ConnectionEnd::peer_reset);
    if (ec == beast::error::timeout) return said(Clock::now() >= cap_ ? ConnectionEnd::capped : ConnectionEnd::timed_out);
    return {ConnectionEnd::error, "error: " + ec.message()};
  }

  // Reads until pending_ holds a whole request head; returns its length (not yet consumed).
  awaitable<std::optional<std::size_t>> read_head(Clock::time_point deadline) {
    while (true) {
      if (auto end = head_end(pending_); end != std::string::npos) co_return end;
      if (pending_.size() > kMaxHead) {
        finish({ConnectionEnd::error, "request head over 64 KiB"});
        co_return std::nullopt;
      }
      if (auto ec = co_await read_more(deadline)) {
        finish(describe(ec));
        co_return std::nullopt;
      }
    }
  }

  awaitable<bool> read_exactly(std::size_t n) {
    while (pending_.size() < n) {
      if (auto ec = co_await read_more(cap_)) {
        finish(describe(ec));
        co_return false;
      }
    }
    pending_.erase(0, n);
    co_return true;
  }

  // The next request head: the routed one if no step has claimed it yet.
  awaitable<bool> claim_head() {
    if (!head_claimed_) {
      head_claimed_ = true;
      co_return true;
    }
    auto head = co_await read_head(cap_);
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

  awaitable<bool> execute(const step::Read& r) {
    switch (r.what) {
      case step::Read::What::none: co_return true;
      case step::Read::What::head: co_return co_await claim_head();
      case step::Read::What::bytes: co_return co_await read_exactly(r.bytes);
      case step::Read::What::request: {
        if (!co_await claim_head()) co_return false;
        if (current_body_.chunked) {
          while (true) {
            if (auto len = chunked_length(pending_)) {
              pending_.erase(0, *len);
              co_return true;
            }
            if (auto ec = co_await read_more(cap_)) {
              finish(describe(ec));
              co_return false;
            }
          }
        }
        co_return co_await read_exactly(current_body_.content_length.value_or(0));
      }
    }
    co_return true;
  }

  awaitable<bool> write(std::string_view bytes) {
    stream_.expires_at(cap_);
    auto [ec, n] = co_await asio::async_write(stream_, asio::buffer(bytes), use_tuple);
    update([&](ConnectionLog& c) { c.sent_total += n; });
    if (ec) {
      finish(describe(ec));
      co_return false;
    }
    co_return true;
  }

  awaitable<bool> execute(const step::Send& s) { co_return co_await write(s.bytes); }

  // Pieces leave at t0 + k·every, so pacing does not drift with the time each write takes.
  awaitable<bool> execute(const step::Dribble& d) {
    asio::steady_timer timer(stream_.get_executor());
    const auto t0 = Clock::now();
    const auto every = resolve(d.every);
    std::size_t k = 0;
    for (std::size_t at = 0; at < d.bytes.size(); at += d.chunk, ++k) {
      timer.expires_at(std::min(t0 + every * static_cast<long>(k), cap_));
      co_await timer.async_wait(use_tuple);
      if (!co_await write(std::string_view(d.bytes).substr(at, d.chunk))) co_return false;
    }
    co_return true;
  }

  awaitable<bool> execute(const step::HalfClose&) {
    error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
    update([](ConnectionLog& c) { c.ended = "half-closed"; });
    co_return true;
  }

  awaitable<bool> execute(const step::Delay& d) {
    asio::steady_timer timer(stream_.get_executor());
    timer.expires_at(std::min(Clock::now() + resolve(d.duration), cap_));
    co_await timer.async_wait(use_tuple);
    co_return true;
  }

  awaitable<void> close_fin() {
    error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
    finish({ConnectionEnd::fin, "fin"});
    // Drain what the proxy still sends, so that close() does not turn our FIN into an RST
    // (the kernel resets a connection closed with unread data).
    auto until = std::min(Clock::now() + kDrainAfterFin, cap_);
    while (!co_await read_more(until)) {
      // A request that arrives after our FIN came on a connection the proxy should not have
      // reused: record it under its own scenario, so that verdict can say where it went.
      if (auto end = head_end(pending_); end != std::string::npos) note_swallowed(pending_.substr(0, end));
      pending_.clear();
    }
    stream_.socket().close(ec);
  }

  void note_swallowed(const std::string& head) {
    if (!up_.options.keep_logs) return;
    auto route = up_.find(scenario_key(parse_head(head)));
    if (!route) return;
    int ignored = 0;
    open_entry(*route, accepted_, true, head, ConnectionEnd::after_close,
               fmt::format("arrived after the upstream had closed (FIN) the connection it reused from scenario {}; "
                           "never answered",
                           route_ ? route_->scenario->name : std::string("?")),
               ignored);
  }

  awaitable<bool> execute(const step::Close& c) {
    if (c.how == step::Close::How::fin) {
      co_await close_fin();
    } else {
      error_code ec;
      // SO_LINGER with a zero timeout: close() sends RST instead of FIN.
      stream_.socket().set_option(asio::socket_base::linger(true, 0), ec);
      stream_.socket().close(ec);
      finish({ConnectionEnd::rst, "rst"});
    }
    co_return false;
  }

  awaitable<bool> execute(const step::Hang& h) {
    if (!h.duration) co_return co_await hang_until_cap();
    auto until = Clock::now() + resolve(*h.duration);
    while (true) {
      auto ec = co_await read_more(until);
      pending_.clear();
      if (ec == beast::error::timeout) break;  // our hang ended: close gracefully below
      if (ec) {
        finish(describe(ec));
        co_return false;
      }
    }
    co_await close_fin();
    co_return false;
  }

  // `hang = true`: hold the connection until the peer closes or the cap is reached, reading and
  // discarding. It waits for readability without a buffer and reads into a per-thread scratch
  // buffer only once bytes are there, so ten thousand silent connections stay a few KiB each.
  awaitable<bool> hang_until_cap() {
    arm_cap_timer();
    auto& sock = stream_.socket();
    thread_local std::array<char, 16 * 1024> scratch;
    while (true) {
      auto [ec] = co_await sock.async_wait(tcp::socket::wait_read, use_tuple);
      if (capped_) break;  // our hang ended: close gracefully below
      std::size_t n = 0;
      if (!ec) n = sock.read_some(asio::buffer(scratch), ec);  // readable: returns at once
      if (n > 0) record_received({scratch.data(), n});
      if (ec) {
        finish(describe(ec));
        co_return false;
      }
    }
    co_await close_fin();
    co_return false;
  }
};

}  // namespace

awaitable<void> FakeUpstream::Impl::session(tcp::socket sock) {
  Session s(std::move(sock), *this);
  co_await s.run();
}

FakeUpstream::FakeUpstream(Options options) : impl_(std::make_unique<Impl>(std::move(options))) {}

FakeUpstream::~FakeUpstream() { stop(); }

void FakeUpstream::add(const Scenario& scenario) {
  std::lock_guard lock(impl_->m);
  if (scenario.endpoint == Endpoint::blackhole && impl_->fillers.empty()) impl_->fill_accept_queue();
  auto shared = std::make_shared<const Scenario>(scenario);
  const auto* plain = plain_response(*shared);
  impl_->routes[scenario.name] = Route{std::move(shared), std::make_shared<ScenarioLog>(), plain};
}

void FakeUpstream::start() {
  impl_->start_workers();
  impl_->spawn_acceptors();
  impl_->thread = std::thread([this] { impl_->ioc.run(); });
}

void FakeUpstream::run() {
  impl_->start_workers();
  impl_->spawn_acceptors();
  impl_->ioc.run();
}

void FakeUpstream::stop() {
  impl_->stop();
  if (impl_->thread.joinable()) impl_->thread.join();
}

std::uint16_t FakeUpstream::port() const { return impl_->acceptor.local_endpoint().port(); }
std::uint16_t FakeUpstream::refused_port() const { return impl_->refused.local_endpoint().port(); }
EndpointPorts FakeUpstream::ports() const {
  return {port(), refused_port(), impl_->blackhole.local_endpoint().port(), impl_->accept_close.local_endpoint().port(),
          impl_->accept_reset.local_endpoint().port()};
}
const std::string& FakeUpstream::host() const { return impl_->options.host; }

UpstreamLog FakeUpstream::log(std::string_view scenario) const {
  std::shared_ptr<ScenarioLog> log;
  {
    std::lock_guard lock(impl_->m);
    auto it = impl_->routes.find(scenario);
    if (it == impl_->routes.end()) return {};
    log = it->second.log;
  }
  std::lock_guard lock(log->m);
  return UpstreamLog{log->connections};
}

std::vector<std::chrono::steady_clock::time_point> FakeUpstream::wait_for_accept_failures(
    std::size_t n, std::chrono::milliseconds timeout) const {
  std::unique_lock lock(impl_->m);
  impl_->accept_failed.wait_for(lock, timeout, [&] { return impl_->accept_failures.size() >= n; });
  auto& f = impl_->accept_failures;
  return {f.begin(), f.begin() + static_cast<std::ptrdiff_t>(std::min(n, f.size()))};
}

int FakeUpstream::unrouted() const {
  std::lock_guard lock(impl_->m);
  return impl_->unrouted;
}

}  // namespace upfault
