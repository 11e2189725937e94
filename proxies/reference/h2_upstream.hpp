#pragma once
// The reference proxy's HTTP/2 upstream side (RFC 9113) through nghttp2's client session: one
// request per upstream connection, the response re-framed as HTTP/1.1 for the client.
//
// What an intermediary owes its client (RFC 9110 §15.6.3, §15.6.5; RFC 9113 §8.1.1, §8.2.2): 502
// for a malformed or reset response before its header was forwarded, 504 when nothing arrives
// within the read timeout, an aborted client connection when the stream fails after the header
// went out, trailers forwarded (as chunked trailers), valid errors passed through unchanged.
//
// forward_h2 is a template over the upstream stream (h2c: beast::tcp_stream; h2 over TLS: an
// ssl::stream whose lowest layer is a beast::tcp_stream); the protocol logic is not.
#include <boost/asio.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "own_response.hpp"

namespace upfault_ref {

namespace asio = boost::asio;
namespace beast = boost::beast;

/// How the HTTP/2 side behaves.
struct H2Options {
  std::chrono::milliseconds read_timeout{1000};  ///< per read, as for HTTP/1.1 upstreams
  std::chrono::milliseconds client_timeout{30000};
  /// The deliberately broken variant: no §8.1.1/§8.2.2 validation (nghttp2's HTTP messaging off),
  /// a reset stream taken as the normal end of the body, and no read timeout.
  bool lenient = false;
};

/// The client's request as the HTTP/2 side sends it: lower-case field names, no hop-by-hop fields.
struct H2Request {
  std::string method, path, authority, body;
  std::vector<std::pair<std::string, std::string>> fields;
};
[[nodiscard]] H2Request make_h2_request(const beast::http::request<beast::http::string_body>& req);

/// One exchange's nghttp2 client session and what it has received so far. No I/O.
class H2Exchange {
 public:
  H2Exchange(const H2Request& req, const H2Options& opt);
  ~H2Exchange();
  H2Exchange(const H2Exchange&) = delete;
  H2Exchange& operator=(const H2Exchange&) = delete;

  /// Bytes nghttp2 wants written to the upstream (the preface, SETTINGS, the request, ACKs).
  [[nodiscard]] std::string output();
  /// Feeds bytes read from the upstream; false on a connection error (see failure()).
  bool input(const char* data, std::size_t n);
  /// The upstream closed the connection (EOF or error).
  void closed_by_upstream(std::string why);
  /// What the client is owed next: bytes to write, and whether the exchange is over.
  struct Delivery {
    enum class Kind { more, done, bad_gateway, abort } kind = Kind::more;
    std::string bytes;  ///< to write to the client first (interim responses, header, body, trailers)
    std::string why;    ///< for bad_gateway
  };
  [[nodiscard]] Delivery deliver();
  /// The response header went to the client (a failure now aborts instead of 502).
  [[nodiscard]] bool header_sent() const { return header_sent_; }

  struct State;  // nghttp2's callbacks fill it (h2_upstream.cpp)

 private:
  std::unique_ptr<State> st_;
  bool header_sent_ = false;
  bool chunked_ = false;
};

/// Forwards `req` over `upstream` (connected; TLS done) and the response to `client`; ends the
/// client's exchange (a graceful shutdown, or a reset when the stream failed after the header).
template <class Stream>
asio::awaitable<void> forward_h2(Stream& upstream, beast::tcp_stream& client, const H2Request& req,
                                 const H2Options& opt) {
  using namespace asio::experimental::awaitable_operators;
  constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);
  H2Exchange x(req, opt);
  auto& lowest = beast::get_lowest_layer(upstream);
  char buf[16 * 1024];
  while (true) {
    if (auto out = x.output(); !out.empty()) {
      lowest.expires_after(opt.read_timeout);
      auto [wec, wn] = co_await asio::async_write(upstream, asio::buffer(out), use_tuple);
      if (wec) x.closed_by_upstream("writing to the upstream failed: " + wec.message());
    }
    auto d = x.deliver();
    if (!d.bytes.empty()) {
      client.expires_after(opt.client_timeout);
      auto [cec, cn] = co_await asio::async_write(client, asio::buffer(d.bytes), use_tuple);
      if (cec) co_return;
    }
    using Kind = H2Exchange::Delivery::Kind;
    if (d.kind == Kind::bad_gateway) co_return co_await bad_gateway(client, d.why);
    if (d.kind == Kind::abort) co_return abort_client(client);
    if (d.kind == Kind::done) {
      boost::system::error_code ec;
      client.socket().shutdown(asio::ip::tcp::socket::shutdown_send, ec);
      co_return;
    }
    if (opt.lenient)
      lowest.expires_never();
    else
      lowest.expires_after(opt.read_timeout);
    auto [ec, n] = co_await upstream.async_read_some(asio::buffer(buf), use_tuple);
    if (n > 0) x.input(buf, n);
    if (ec == beast::error::timeout) {
      if (x.header_sent()) co_return abort_client(client);
      co_return co_await gateway_timeout(client, "no HTTP/2 response in time");
    }
    if (ec) x.closed_by_upstream(ec.message());
  }
}

/// h2c: connects to `to` (bounded by `connect_timeout`: 504 when it expires, 502 when refused) and
/// forwards the request over HTTP/2 with prior knowledge.
asio::awaitable<void> connect_and_forward_h2(beast::tcp_stream& client, const asio::ip::tcp::endpoint& to,
                                             std::chrono::milliseconds connect_timeout,
                                             const beast::http::request<beast::http::string_body>& req,
                                             const H2Options& opt);

}  // namespace upfault_ref
