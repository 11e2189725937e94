// The fake upstream's server (see server.hpp): listeners, endpoints, workers, routes, logs.
#include "upstream/server.hpp"

#include <fmt/format.h>
#include <poll.h>

#include "h2/mux_server.hpp"
#include "upstream/connection.hpp"
#include "upstream/steps/step.hpp"

#include <boost/asio/experimental/awaitable_operators.hpp>

namespace upfault {

using namespace net;
using namespace boost::asio::experimental::awaitable_operators;

namespace upstream {

namespace {
constexpr auto kDrainAfterFin = std::chrono::seconds(2);

// The fixed response of a plain scenario (see Route::plain_response), or null.
const std::string* plain_response(const Scenario& s) {
  if (s.endpoint != Endpoint::scripted || s.steps.size() != 2) return nullptr;
  if (!s.steps[0].on_request.empty() || !s.steps[1].on_request.empty()) return nullptr;
  if (!s.steps[0].action->reads_request()) return nullptr;
  return s.steps[1].action->sends();
}

// The response a multiplexed HTTP/2 connection answers a scenario's requests with (see
// Route::h2_response), or null. It lives as long as the scenario (an aliasing pointer).
std::shared_ptr<const h2::FixedResponse> multiplexed_response(const std::shared_ptr<const Scenario>& s,
                                                              const std::vector<const UpstreamStep*>& steps) {
  if (s->endpoint != Endpoint::scripted || !is_http2(s->protocol) || steps.empty() || steps.size() > 2) return nullptr;
  for (const auto& step : s->steps)
    if (!step.on_request.empty()) return nullptr;
  if (steps.size() == 2 && !(steps[0] && steps[0]->reads_request())) return nullptr;
  const auto* response = steps.back() ? steps.back()->fixed_h2_response() : nullptr;
  if (!response || h2::invalid_fixed_response(*response)) return nullptr;
  return {s, response};
}

awaitable<void> drain(tcp::socket& sock) {
  char buf[4096];
  while (true) {
    auto [ec, n] = co_await sock.async_read_some(asio::buffer(buf), use_tuple);
    if (ec) break;
  }
}
}  // namespace

// accept-close: reads what the proxy sends after our FIN for a while, then closes.
awaitable<void> drain_and_close(tcp::socket sock, Slot) {
  co_await (drain(sock) || sleep_until(Clock::now() + kDrainAfterFin));
}

std::size_t add_entry(const Route& route, const Arrival& arrival, std::string_view received, ConnectionEnd end,
                      std::string ended, int requests) {
  std::lock_guard lock(route.log->m);
  if (route.log->connections.size() >= kMaxLogged) return kNotLogged;
  ConnectionLog c;
  c.accepted = arrival.accepted;
  c.connection = arrival.connection;
  c.reused = arrival.reused;
  c.port = std::string(arrival.port);
  c.tls = arrival.tls;
  c.http2 = arrival.http2;
  c.requests = requests;
  c.received = std::string(received.substr(0, kLogCap));
  c.received_total = received.size();
  c.end = end;
  c.ended = std::move(ended);
  route.log->connections.push_back(std::move(c));
  return route.log->connections.size() - 1;
}

std::size_t open_entry(const Route& route, const Arrival& arrival, std::string_view received, ConnectionEnd end,
                       std::string ended, int& request_index) {
  request_index = ++route.log->requests;
  return add_entry(route, arrival, received, end, std::move(ended), 1);
}

}  // namespace upstream

FakeUpstream::Impl::Impl(Options o)
    : options(std::move(o)), acceptor(ioc), refused(ioc), blackhole(ioc), accept_close(ioc), accept_reset(ioc) {
  preflight = options.preflight;
}

Result<void> FakeUpstream::Impl::bind() {
  if (auto r = listen(acceptor, options.ports.scripted, asio::socket_base::max_listen_connections, "upstream"); !r)
    return r;
  if (auto r = bind_refused(options.ports.refused); !r) return r;
  // Backlog 0 holds one unaccepted connection; ours fill it, and the kernel then drops
  // every SYN, so a proxy's connect never completes and its connect timeout fires.
  if (auto r = listen(blackhole, options.ports.blackhole, 0, "blackhole"); !r) return r;
  if (auto r =
          listen(accept_close, options.ports.accept_close, asio::socket_base::max_listen_connections, "accept-close");
      !r)
    return r;
  if (auto r =
          listen(accept_reset, options.ports.accept_reset, asio::socket_base::max_listen_connections, "accept-reset");
      !r)
    return r;
  return bind_tls();
}

// A plain message naming the port and its option (Boost's own exceptions carry source locations).
Result<void> FakeUpstream::Impl::listen(tcp::acceptor& a, std::uint16_t port, int backlog, std::string_view role) {
  error_code ec;
  const tcp::endpoint ep(asio::ip::make_address(options.host, ec), port);
  if (!ec) a.open(ep.protocol(), ec);
  if (!ec) close_on_exec(a.native_handle());
  if (!ec) a.set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) a.bind(ep, ec);
  if (!ec) a.listen(backlog, ec);
  if (ec) return problem(fmt::format("{}:{} (--{}-port): {}", options.host, port, role, ec.message()));
  return {};
}

void FakeUpstream::Impl::fill_accept_queue() {
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
awaitable<void> FakeUpstream::Impl::act_before_reading(tcp::acceptor& a, bool reset) {
  while (true) {
    co_await wait_for_room(false);
    auto [ec, sock] = co_await a.async_accept(use_tuple);
    if (ec == asio::error::operation_aborted) co_return;
    if (ec) {
      if (!co_await back_off(ec, false)) co_return;
      continue;
    }
    co_await wait_for_room(false);  // another loop may have taken the last place meanwhile
    upstream::Slot slot(open_connections);
    if (preflight) {
      asio::co_spawn(
          ioc,
          upstream::serve_connection(std::move(sock), *this, std::move(slot), reset ? "accept-reset" : "accept-close"),
          asio::detached);
      continue;
    }
    error_code ignored;
    if (reset) {
      sock.set_option(asio::socket_base::linger(true, 0), ignored);
      sock.close(ignored);
      continue;
    }
    sock.shutdown(tcp::socket::shutdown_send, ignored);
    asio::co_spawn(ioc, upstream::drain_and_close(std::move(sock), std::move(slot)), asio::detached);
  }
}

// After a failed accept: waits 100 ms (false when the upstream is stopping meanwhile), and
// says so once per error kind. Only the scripted endpoint's failures are recorded: the other
// acceptors can fail at the same moment (at the descriptor limit accept(2) fails before it looks
// at the queue), and one list for all loops held entries microseconds apart (seen in CI).
awaitable<bool> FakeUpstream::Impl::back_off(const error_code& ec, bool scripted) {
  if (scripted) {
    {
      std::lock_guard lock(m);
      if (accept_failures.size() < kKeptFailures) accept_failures.push_back(Clock::now());
    }
    accept_failed.notify_all();
  }
  if (options.verbose && reported_accept_errors.insert(ec.value()).second)
    fmt::print(stderr, "upfault upstream: accept failed ({}); retrying every 100 ms\n", ec.message());
  asio::steady_timer t(ioc, std::chrono::milliseconds(100));
  auto [wec] = co_await t.async_wait(use_tuple);
  co_return !wec && acceptor.is_open();
}

void FakeUpstream::Impl::spawn_acceptors() {
  if (preflight) {
    error_code ec;
    refused.listen(asio::socket_base::max_listen_connections, ec);
    if (!ec) asio::co_spawn(ioc, preflight_accept_loop(refused, "refused"), asio::detached);
    asio::co_spawn(ioc, preflight_accept_loop(blackhole, "blackhole"), asio::detached);
  }
  asio::co_spawn(ioc, accept_loop(), asio::detached);
  asio::co_spawn(ioc, act_before_reading(accept_close, false), asio::detached);
  asio::co_spawn(ioc, act_before_reading(accept_reset, true), asio::detached);
  for (auto& l : tls_listeners) asio::co_spawn(ioc, tls_accept_loop(*l), asio::detached);
}

asio::io_context& FakeUpstream::Impl::session_context() {
  if (workers.empty()) return ioc;
  return *workers[next_worker++ % workers.size()];
}

awaitable<void> FakeUpstream::Impl::wait_for_room(bool handshake) {
  while (true) {
    const bool connections_full = open_connections >= options.max_connections;
    const bool handshakes_full = handshake && open_handshakes >= options.max_handshakes;
    if (!connections_full && !handshakes_full) co_return;
    bool& noted = connections_full ? connection_cap_noted : handshake_cap_noted;
    if (options.verbose && !std::exchange(noted, true))
      fmt::print(stderr,
                 "upfault upstream: {} {} (the cap, {}): new connections wait in the kernel's queue until one ends "
                 "(said once)\n",
                 connections_full ? options.max_connections : options.max_handshakes,
                 connections_full ? "connections open" : "TLS handshakes in progress",
                 connections_full ? "--max-connections" : "--max-handshakes");
    asio::steady_timer t(ioc, std::chrono::milliseconds(20));
    if (auto [ec] = co_await t.async_wait(use_tuple); ec) co_return;  // the upstream is stopping
  }
}

awaitable<void> FakeUpstream::Impl::accept_loop() {
  while (true) {
    co_await wait_for_room(false);
    auto& target = session_context();
    auto [ec, sock] = co_await acceptor.async_accept(target, use_tuple);
    if (ec == asio::error::operation_aborted) co_return;
    if (ec) {
      // E.g. EMFILE: keep serving the connections we have, and try again a little later
      // rather than at once (accept would fail again at once: a busy loop).
      if (!co_await back_off(ec, true)) co_return;
      continue;
    }
    co_await wait_for_room(false);  // another loop may have taken the last place meanwhile
    asio::co_spawn(target, upstream::serve_connection(std::move(sock), *this, upstream::Slot(open_connections)),
                   asio::detached);
  }
}

void FakeUpstream::Impl::start_workers() {
  for (unsigned i = 1; i < options.threads; ++i) workers.push_back(std::make_unique<asio::io_context>(1));
  for (auto& w : workers) {
    worker_threads.emplace_back([&w] {
      auto guard = asio::make_work_guard(*w);
      w->run();
    });
  }
}

void FakeUpstream::Impl::stop() {
  ioc.stop();
  for (auto& w : workers) w->stop();
  for (auto& t : worker_threads)
    if (t.joinable()) t.join();
}

std::optional<upstream::Route> FakeUpstream::Impl::find(std::string_view key) {
  std::lock_guard lock(m);
  auto it = routes.find(key);
  if (it == routes.end()) return std::nullopt;
  return it->second;
}

void FakeUpstream::Impl::note_unrouted() {
  std::lock_guard lock(m);
  ++unrouted;
}

FakeUpstream::FakeUpstream(Options options) : impl_(std::make_unique<Impl>(std::move(options))) {
  impl_->bind().value();
}

FakeUpstream::FakeUpstream(std::unique_ptr<Impl> bound) : impl_(std::move(bound)) {}

Result<std::unique_ptr<FakeUpstream>> FakeUpstream::open(Options options) {
  auto impl = std::make_unique<Impl>(std::move(options));
  if (auto bound = impl->bind(); !bound) return bound.error();
  return std::unique_ptr<FakeUpstream>(new FakeUpstream(std::move(impl)));
}

FakeUpstream::~FakeUpstream() { stop(); }

void FakeUpstream::add(const Scenario& scenario) {
  std::lock_guard lock(impl_->m);
  if (scenario.endpoint == Endpoint::blackhole) {
    impl_->blackhole_routed = true;
    if (!impl_->preflight && impl_->fillers.empty()) impl_->fill_accept_queue();
  }
  auto shared = std::make_shared<const Scenario>(scenario);
  upstream::Route route{shared, std::make_shared<upstream::ScenarioLog>(), upstream::plain_response(*shared), {}, {}};
  for (const auto& step : shared->steps) route.steps.push_back(dynamic_cast<const UpstreamStep*>(step.action.get()));
  route.h2_response = upstream::multiplexed_response(shared, route.steps);
  impl_->routes[scenario.name] = std::move(route);
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
  EndpointPorts p{port(), refused_port(), impl_->blackhole.local_endpoint().port(),
                  impl_->accept_close.local_endpoint().port(), impl_->accept_reset.local_endpoint().port()};
  for (const auto& l : impl_->tls_listeners)
    for (const auto& f : endpoint_port_fields())
      if (f.name == l->name) p.*f.port = l->acceptor.local_endpoint().port();
  return p;
}
const std::string& FakeUpstream::host() const { return impl_->options.host; }

UpstreamLog FakeUpstream::log(std::string_view scenario) const {
  std::shared_ptr<upstream::ScenarioLog> log;
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

std::string FakeUpstream::tls_misrouted() const {
  std::lock_guard lock(impl_->m);
  return impl_->tls_on_plain;
}

std::string FakeUpstream::plain_on_tls(std::string_view port) const {
  {
    std::lock_guard lock(impl_->m);
    if (port.empty() || !impl_->plain_on_tls.count(std::string(port))) return "";
  }
  if (const auto* f = port_field(port))
    return fmt::format(
        "the proxy sent plain HTTP to upfault's TLS port for {}/ ({}:{}, --{}-port): route {}/ to it over TLS "
        "(https://, or the proxy's TLS option for that backend; `upfault routes` prints the lines)",
        f->prefix, impl_->options.host, ports().*f->port, f->name, f->prefix);
  return fmt::format("the proxy sent plain HTTP to upfault's TLS {} port: route it there over TLS", port);
}

std::string FakeUpstream::tls_refusal() const {
  std::lock_guard lock(impl_->m);
  if (!impl_->tls_refusal.empty() || impl_->tls_spoken || !impl_->tls_closed_unasked) return impl_->tls_refusal;
  return "it completed the handshake, then closed the connection without sending a request, as a proxy does that "
         "verifies the certificate after the handshake";
}

std::shared_ptr<void> FakeUpstream::on_tls_note(std::function<void()> notify) const {
  std::lock_guard lock(impl_->m);
  const auto id = impl_->next_tls_watcher++;
  impl_->tls_watchers.emplace(id, std::move(notify));
  // Released under the lock too, so a note being told finishes before the watcher is gone.
  return std::shared_ptr<void>(nullptr, [impl = impl_.get(), id](void*) {
    std::lock_guard held(impl->m);
    impl->tls_watchers.erase(id);
  });
}

int FakeUpstream::unrouted() const {
  std::lock_guard lock(impl_->m);
  return impl_->unrouted;
}

}  // namespace upfault
