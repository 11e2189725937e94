// The fake upstream's TLS ports. Which port the proxy reaches chooses the handshake: the request
// that names the scenario travels inside TLS, so nothing before the handshake can be routed by it.
//   tls, tls-h2                   a valid certificate, ALPN http/1.1 or h2 (sessions resumable
//                                 under Options::tls_resumption); then the scripts run
//   tls-expired, tls-wrong-name,  a certificate the proxy must refuse when it verifies; a proxy
//   tls-untrusted                 that does not gets the scenario's script (and passes it on)
//   tls-stall                     reads the ClientHello and never answers
//   tls-garbage                   answers the ClientHello with plain HTTP, not TLS
//   tls-alert                     answers the ClientHello with a fatal handshake_failure alert
#include <fmt/format.h>

#include <boost/asio/experimental/awaitable_operators.hpp>

#include "upstream/connection.hpp"
#include "upstream/server.hpp"

namespace upfault {

using namespace net;
using namespace boost::asio::experimental::awaitable_operators;

namespace {

struct Spec {
  std::string_view name;
  upstream::TlsListener::Kind kind;
  tls::Leaf leaf;
  std::string_view alpn;
  tls::Handshakes handshakes = tls::Handshakes::full;
};

// The ports with the valid certificate may resume sessions (Options::tls_resumption), as a
// production origin does; the certificate ports show their certificate in a full handshake on
// every connection.
constexpr Spec kSpecs[] = {
    {"tls", upstream::TlsListener::Kind::serve, tls::Leaf::valid, "http/1.1", tls::Handshakes::resumable},
    {"tls-h2", upstream::TlsListener::Kind::serve, tls::Leaf::valid, "h2", tls::Handshakes::resumable},
    {"tls-stall", upstream::TlsListener::Kind::stall, tls::Leaf::valid, ""},
    {"tls-garbage", upstream::TlsListener::Kind::garbage, tls::Leaf::valid, ""},
    {"tls-alert", upstream::TlsListener::Kind::alert, tls::Leaf::valid, ""},
    {"tls-expired", upstream::TlsListener::Kind::serve, tls::Leaf::expired, "http/1.1"},
    {"tls-wrong-name", upstream::TlsListener::Kind::serve, tls::Leaf::wrong_name, "http/1.1"},
    {"tls-untrusted", upstream::TlsListener::Kind::serve, tls::Leaf::untrusted, "http/1.1"},
};

// A TLS record: alert (21), TLS 1.2 (3,3), length 2, fatal (2), handshake_failure (40).
constexpr std::string_view kFatalAlert("\x15\x03\x03\x00\x02\x02\x28", 7);
constexpr std::string_view kNotTls = "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";

awaitable<void> discard(tcp::socket& sock) {
  char buf[4096];
  while (true) {
    auto [ec, n] = co_await sock.async_read_some(asio::buffer(buf), use_tuple);
    if (ec) co_return;
  }
}

// The handshake faults: each waits for the ClientHello's first bytes, so the proxy has begun. Bytes
// that are no TLS record (an HTTP request: the proxy's route to this port is plain HTTP) are noted
// first, as the proxy's setup mistake.
awaitable<void> fail_handshake(tcp::socket sock, std::string_view name, upstream::TlsListener::Kind kind,
                               FakeUpstream::Impl& up, std::chrono::seconds cap, upstream::Slot) {
  const auto until = Clock::now() + cap;
  char buf[4096];
  std::size_t n = 0;
  error_code ec;
  auto first = [&]() -> awaitable<void> {
    std::tie(ec, n) = co_await sock.async_read_some(asio::buffer(buf), use_tuple);
  };
  if ((co_await (first() || sleep_until(until))).index() != 0 || ec) co_return;
  if (n > 0 && buf[0] != '\x16') up.note_plain_on_tls(name);
  if (kind == upstream::TlsListener::Kind::stall) {
    co_await (discard(sock) || sleep_until(until));
    co_return;
  }
  const auto reply = kind == upstream::TlsListener::Kind::alert ? kFatalAlert : kNotTls;
  co_await asio::async_write(sock, asio::buffer(reply), use_tuple);  // a failure ends it the same way
  error_code ignored;
  sock.shutdown(tcp::socket::shutdown_send, ignored);
  co_await (discard(sock) || sleep_until(Clock::now() + std::chrono::seconds(2)));
}

}  // namespace

Result<void> FakeUpstream::Impl::bind_tls() {
  if (preflight) {
    auto ctx = tls::server_context(tls::Leaf::valid, "http/1.1", tls::Handshakes::full);
    if (!ctx) return ctx.error().prefixed("pre-flight: ");
    valid_ctx = std::move(*ctx);
  }
  for (const auto& spec : kSpecs) {
    auto l = std::make_unique<upstream::TlsListener>(ioc);
    l->name = spec.name;
    l->kind = spec.kind;
    if (spec.kind == upstream::TlsListener::Kind::serve) {
      auto ctx =
          tls::server_context(spec.leaf, spec.alpn, options.tls_resumption ? spec.handshakes : tls::Handshakes::full);
      if (!ctx) return ctx.error().prefixed(fmt::format("--{}-port: ", spec.name));
      l->ctx = std::move(*ctx);
    }
    const std::uint16_t port = options.ports.*port_field(spec.name)->port;
    if (auto r = listen(l->acceptor, port, asio::socket_base::max_listen_connections, spec.name); !r) return r;
    tls_listeners.push_back(std::move(l));
  }
  return {};
}

awaitable<void> FakeUpstream::Impl::tls_accept_loop(upstream::TlsListener& l) {
  const bool serves = l.kind == upstream::TlsListener::Kind::serve;
  const bool valid = l.name == "tls" || l.name == "tls-h2";
  while (true) {
    co_await wait_for_room(serves);
    auto& target = serves ? session_context() : ioc;
    auto [ec, sock] = co_await l.acceptor.async_accept(target, use_tuple);
    if (ec == asio::error::operation_aborted) co_return;
    if (ec) {
      if (!co_await back_off(ec, false)) co_return;
      continue;
    }
    co_await wait_for_room(serves);  // another loop may have taken the last place meanwhile
    upstream::Slot connection(open_connections);
    // Decided once the connection is here: an accept begun in pre-flight may complete after it.
    const bool preflight_now = preflight;
    if (serves || preflight_now)
      asio::co_spawn(target,
                     upstream::serve_connection(std::move(sock), *this, std::move(connection), l.name,
                                                preflight_now && !valid ? valid_ctx.get() : l.ctx.get(),
                                                upstream::Slot(open_handshakes)),
                     asio::detached);
    else
      asio::co_spawn(
          ioc, fail_handshake(std::move(sock), l.name, l.kind, *this, options.connection_cap, std::move(connection)),
          asio::detached);
  }
}

}  // namespace upfault
