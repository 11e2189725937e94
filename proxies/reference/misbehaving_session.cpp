// --misbehave: a proxy under test that is itself broken, so the harness's handling of it is tested.
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <cstdlib>

#include "own_response.hpp"
#include "sessions.hpp"

namespace upfault_ref {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

asio::awaitable<void> misbehaving_session(tcp::socket socket, const Config& cfg) {
  constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);
  static int handled = 0;
  beast::tcp_stream client(std::move(socket));
  beast::flat_buffer buf;
  http::request<http::string_body> req;
  client.expires_after(cfg.client_timeout);
  if (auto [ec, n] = co_await http::async_read(client, buf, req, use_tuple); ec) co_return;
  const std::string& mode = cfg.misbehave;
  // upfault's pre-flight probes are answered at once and not counted: what this equipment tests is
  // the harness's handling of the scenarios' answers (upfault then runs it with routes unchecked).
  if (std::string_view(req.target()).find("/__upfault/upfault-preflight-") != std::string_view::npos) {
    co_await send_own(client, 502, "Bad Gateway", "test equipment: pre-flight is not served");
    co_return;
  }
  if (mode == "hang") {  // never answer, never close
    asio::steady_timer forever(client.get_executor());
    forever.expires_after(std::chrono::hours(1));
    co_await forever.async_wait(use_tuple);
  } else if (mode == "reset") {
    abort_client(client);
  } else if (mode == "close") {  // no byte, then FIN: "Empty reply from server"
    boost::system::error_code ignored;
    client.socket().shutdown(tcp::socket::shutdown_send, ignored);
  } else if (mode == "garbage") {
    co_await asio::async_write(client, asio::buffer(std::string_view("\x01\x02 not a response at all\r\n\r\n")),
                               use_tuple);
    client.socket().shutdown(tcp::socket::shutdown_send);
  } else if (mode == "flood") {  // a header that promises a terabyte, then bytes until the client gives up
    co_await asio::async_write(
        client, asio::buffer(std::string_view("HTTP/1.1 200 OK\r\nContent-Length: 1099511627776\r\n\r\n")), use_tuple);
    std::string chunk(64 * 1024, 'x');
    while (true) {
      client.expires_after(cfg.client_timeout);
      if (auto [ec, n] = co_await asio::async_write(client, asio::buffer(chunk), use_tuple); ec) break;
    }
  } else if (mode.rfind("crash-after=", 0) == 0) {
    // The Nth request kills the proxy while it handles it, as a real crash would: the client's
    // connection ends because the process died. The ones before it get a 502.
    if (++handled >= std::stoi(mode.substr(12))) std::abort();
    co_await send_own(client, 502, "Bad Gateway", "not yet crashing");
  }
}

}  // namespace upfault_ref
