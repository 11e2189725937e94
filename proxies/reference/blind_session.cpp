// The blind relay (--blind): copies bytes both ways with no parsing and no timeouts, so the
// harness can show that its checks catch a proxy that does nothing right.
#include <boost/asio.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/ssl.hpp>

#include "sessions.hpp"

namespace upfault_ref {

namespace asio = boost::asio;
namespace beast = boost::beast;
using tcp = asio::ip::tcp;
using error_code = boost::system::error_code;

namespace {
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

void shutdown_send(tcp::socket& s) {
  error_code ec;
  s.shutdown(tcp::socket::shutdown_send, ec);
}
void shutdown_send(beast::ssl_stream<tcp::socket>& s) {  // no close_notify: blind to TLS too
  error_code ec;
  s.next_layer().shutdown(tcp::socket::shutdown_send, ec);
}

// Copies one direction until EOF or error, then half-closes the other side.
template <class From, class To>
asio::awaitable<void> pump(From& from, To& to) {
  char buf[16 * 1024];
  while (true) {
    auto [ec, n] = co_await from.async_read_some(asio::buffer(buf), use_tuple);
    if (n > 0) {
      if (auto [wec, wn] = co_await asio::async_write(to, asio::buffer(buf, n), use_tuple); wec) break;
    }
    if (ec) break;
  }
  shutdown_send(to);
}
}  // namespace

asio::awaitable<void> blind_session(tcp::socket client, const Config& cfg) {
  // The first bytes only pick the route (/__refused/…); nothing is parsed or checked.
  char first[16 * 1024];
  auto [ec, n] = co_await client.async_read_some(asio::buffer(first), use_tuple);
  if (ec) co_return;
  std::string_view line(first, n);
  auto sp = line.find(' ');
  std::string_view target = sp == std::string_view::npos ? std::string_view{} : line.substr(sp + 1);
  tcp::socket upstream(client.get_executor());
  const auto& route = pick_route(cfg, target);
  if (auto [cec] = co_await upstream.async_connect(route.to, use_tuple); cec) co_return;
  using namespace asio::experimental::awaitable_operators;
  if (route.scheme == "https") {  // TLS with no check of anything, then the same blind copying
    beast::ssl_stream<tcp::socket> tls(std::move(upstream), *cfg.tls);
    if (auto [hec] = co_await tls.async_handshake(asio::ssl::stream_base::client, use_tuple); hec) co_return;
    if (auto [wec, wn] = co_await asio::async_write(tls, asio::buffer(first, n), use_tuple); wec) co_return;
    co_await (pump(client, tls) && pump(tls, client));
    co_return;
  }
  if (auto [wec, wn] = co_await asio::async_write(upstream, asio::buffer(first, n), use_tuple); wec) co_return;
  co_await (pump(client, upstream) && pump(upstream, client));
}

}  // namespace upfault_ref
