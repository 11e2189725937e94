// The reference proxy's own responses (see own_response.hpp).
#include "own_response.hpp"

#include <fmt/format.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

namespace upfault_ref {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

asio::awaitable<void> send_own(boost::beast::tcp_stream& client, int status, std::string_view reason,
                               std::string_view why) {
  std::string body = fmt::format("upfault-reference-proxy: {}\n", why);  // --intercept-errors uses it too
  std::string msg = fmt::format(
      "HTTP/1.1 {} {}\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n"
      "Via: 1.1 upfault-reference\r\n\r\n{}",
      status, reason, body.size(), body);
  client.expires_after(std::chrono::seconds(5));
  co_await asio::async_write(client, asio::buffer(msg), asio::as_tuple(asio::use_awaitable));
  boost::system::error_code ec;
  client.socket().shutdown(tcp::socket::shutdown_send, ec);
}

namespace {
std::uint64_t g_gateway_errors = 0;  // one thread runs the proxy
}

asio::awaitable<void> bad_gateway(boost::beast::tcp_stream& client, std::string_view why) {
  ++g_gateway_errors;
  co_await send_own(client, 502, "Bad Gateway", why);
}

asio::awaitable<void> gateway_timeout(boost::beast::tcp_stream& client, std::string_view why) {
  ++g_gateway_errors;
  co_await send_own(client, 504, "Gateway Timeout", why);
}

std::uint64_t gateway_errors_sent() { return g_gateway_errors; }

void abort_client(boost::beast::tcp_stream& client) {
  boost::system::error_code ec;
  client.socket().set_option(asio::socket_base::linger(true, 0), ec);  // RST, not FIN
  client.socket().close(ec);
}

}  // namespace upfault_ref
