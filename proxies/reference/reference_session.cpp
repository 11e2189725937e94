// The reference proxy: a reverse proxy that does what RFC 9110/9112 ask of an intermediary whose
// upstream misbehaves — 502 for an invalid or missing response, 504 when none arrives in time,
// valid errors forwarded unchanged, hop-by-hop fields removed, and, once the header is
// forwarded, a body cut short made visible by resetting the client connection. This file is its
// client side and its HTTP/1.1 upstream side (plain or TLS); HTTP/2 upstreams: h2_upstream.hpp.
#include <fmt/format.h>

#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include <cstdlib>
#include <optional>

#include "h2_upstream.hpp"
#include "hop_by_hop.hpp"
#include "own_response.hpp"
#include "sessions.hpp"

namespace upfault_ref {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using error_code = boost::system::error_code;
using RequestParser = http::request_parser<http::string_body>;
using ResponseParser = http::response_parser<http::buffer_body>;

namespace {
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

// The TCP layer of an upstream stream, for its timeouts.
beast::tcp_stream& tcp_of(beast::tcp_stream& s) { return s; }
beast::tcp_stream& tcp_of(beast::ssl_stream<beast::tcp_stream>& s) { return s.next_layer(); }

bool is_timeout(const error_code& ec) { return ec == beast::error::timeout; }

// RFC 9112 §9.8: a FIN without close_notify is an incomplete close. Beast reports it as
// stream_truncated; only --lenient takes it for the end of the body.
bool truncated_is_end(const error_code& ec, const Config& cfg) {
  return cfg.lenient && ec == asio::ssl::error::stream_truncated;
}

// Reads until `p` has the whole header. The timeout applies to each read, as in common proxies
// (Beast's own read loops would bound the whole header instead).
template <class Stream, class Parser>
asio::awaitable<error_code> read_header(Stream& s, beast::flat_buffer& buf, Parser& p, Millis timeout) {
  while (true) {
    if (buf.size() > 0) {
      error_code ec;
      buf.consume(p.put(buf.data(), ec));
      if (p.is_header_done()) co_return error_code{};
      if (ec && ec != http::error::need_more) co_return ec;
    }
    tcp_of(s).expires_after(timeout);
    auto [ec, n] = co_await s.async_read_some(buf.prepare(16 * 1024), use_tuple);
    buf.commit(n);
    if (ec == asio::error::eof) co_return http::error::partial_message;
    if (ec) co_return ec;
  }
}

// The TLS handshake with the upstream, bounded by the connect timeout: one that times out is
// 504, one that fails (a certificate we must not trust, an alert, bytes that are not TLS) 502.
asio::awaitable<bool> tls_handshake(beast::ssl_stream<beast::tcp_stream>& tls, beast::tcp_stream& client,
                                    const Config& cfg, bool h2) {
  // SNI (SSL_set_tlsext_host_name, a macro with an old-style cast, spelled out).
  SSL_ctrl(tls.native_handle(), SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name,
           const_cast<char*>(cfg.tls_name.c_str()));
  static const unsigned char kAlpn[] = "\x08http/1.1", kAlpnH2[] = "\x02h2";
  if (h2)
    SSL_set_alpn_protos(tls.native_handle(), kAlpnH2, sizeof kAlpnH2 - 1);
  else
    SSL_set_alpn_protos(tls.native_handle(), kAlpn, sizeof kAlpn - 1);
  if (!cfg.lenient) {
    tls.set_verify_mode(asio::ssl::verify_peer);
    tls.set_verify_callback(asio::ssl::host_name_verification(cfg.tls_name));
    tls.next_layer().expires_after(cfg.connect_timeout);
  } else {
    tls.next_layer().expires_never();
  }
  auto [ec] = co_await tls.async_handshake(asio::ssl::stream_base::client, use_tuple);
  if (!ec) co_return true;
  if (is_timeout(ec))
    co_await gateway_timeout(client, "TLS handshake with the upstream timed out");
  else
    co_await bad_gateway(client, "TLS handshake with the upstream failed: " + ec.message());
  co_return false;
}

// Sends the client's request upstream (hop-by-hop fields removed, Via added, framed by
// Content-Length); false, with a 504 or 502 sent to the client, when that fails.
template <class Stream>
asio::awaitable<bool> send_request(beast::tcp_stream& client, RequestParser& req_parser, Stream& upstream,
                                   const Config& cfg) {
  auto& req = req_parser.get();
  std::string out = fmt::format("{} {} HTTP/1.1\r\n{}", std::string(req.method_string()), std::string(req.target()),
                                end_to_end_fields(req));
  out += "Via: 1.1 upfault-reference\r\nConnection: close\r\n";
  if (!req.body().empty() || req_parser.content_length())
    out += fmt::format("Content-Length: {}\r\n", req.body().size());
  out += "\r\n" + req.body();
  tcp_of(upstream).expires_after(cfg.read_timeout);
  auto [ec, n] = co_await asio::async_write(upstream, asio::buffer(out), use_tuple);
  if (!ec) co_return true;
  if (is_timeout(ec))
    co_await gateway_timeout(client, "sending the request upstream timed out");
  else
    co_await bad_gateway(client, "sending the request upstream failed: " + ec.message());
  co_return false;
}

// Reads the final response header into `res`, forwarding interim responses (RFC 9110 §15.2); the
// read timeout applies to each read, as in common proxies. False when the exchange is over: a
// 504 or 502 was sent to the client, or writing to it failed.
template <class Stream>
asio::awaitable<bool> read_response_header(beast::tcp_stream& client, Stream& upstream, beast::flat_buffer& up_buf,
                                           std::optional<ResponseParser>& res, bool head, const Config& cfg) {
  while (true) {
    res.emplace();
    res->header_limit(64 * 1024);
    if (head) res->skip(true);
    if (auto ec = co_await read_header(upstream, up_buf, *res, cfg.read_timeout); ec) {
      if (is_timeout(ec))
        co_await gateway_timeout(client, "no response header from upstream in time");
      else
        co_await bad_gateway(client, "invalid or missing response header from upstream: " + ec.message());
      co_return false;
    }
    const unsigned status = res->get().result_int();
    if (status < 100 || status > 599 || status == 101) {  // 101: we never ask for an upgrade
      co_await bad_gateway(client, fmt::format("upstream sent status {}", status));
      co_return false;
    }
    if (status >= 500 && cfg.lenient) {  // --lenient: the origin's own error replaced (proxy_intercept_errors)
      co_await bad_gateway(client, fmt::format("upstream sent status {}; replaced", status));
      co_return false;
    }
    if (status >= 200) co_return true;
    // RFC 9110 §15.2: forward interim responses we did not ask for.
    std::string interim = fmt::format("HTTP/1.1 {} {}\r\n{}\r\n", status, std::string(res->get().reason()),
                                      end_to_end_fields(res->get()));
    client.expires_after(cfg.client_timeout);
    if (auto [ec, n] = co_await asio::async_write(client, asio::buffer(interim), use_tuple); ec) co_return false;
  }
}

// Streams the response body to the client, chunked when `chunked_out` (then ended with the last
// chunk). Any failure of the upstream now aborts the client connection. False when the exchange
// ended early: the client aborted, or writing to it failed.
template <class Stream>
asio::awaitable<bool> relay_body(beast::tcp_stream& client, Stream& upstream, beast::flat_buffer& up_buf,
                                 ResponseParser& res, bool chunked_out, const Config& cfg) {
  auto& msg = res.get();
  char buf[16 * 1024];
  while (!res.is_done()) {
    msg.body().data = buf;
    msg.body().size = sizeof buf;
    tcp_of(upstream).expires_after(cfg.read_timeout);
    auto [ec, n] = co_await http::async_read_some(upstream, up_buf, res, use_tuple);
    if (ec == http::error::need_buffer) ec = {};
    if (truncated_is_end(ec, cfg)) {  // --lenient: the incomplete close taken for the end
      error_code eof_ec;
      res.put_eof(eof_ec);
      ec = eof_ec;
    }
    if (ec && cfg.lenient && chunked_out) break;  // --lenient: any end is the end (the last chunk follows)
    if (ec) {
      abort_client(client);
      co_return false;
    }
    const std::size_t got = sizeof buf - msg.body().size;
    if (got == 0) continue;
    std::string chunk = chunked_out ? fmt::format("{:x}\r\n", got) : std::string{};
    chunk.append(buf, got);
    if (chunked_out) chunk += "\r\n";
    client.expires_after(cfg.client_timeout);
    if (auto [wec, wn] = co_await asio::async_write(client, asio::buffer(chunk), use_tuple); wec) co_return false;
  }
  if (chunked_out) {
    client.expires_after(cfg.client_timeout);
    co_await asio::async_write(client, asio::buffer(std::string_view("0\r\n\r\n")), use_tuple);
  }
  co_return true;
}

// Sends the request upstream and relays the response: 502 for an invalid one, 504 for none in
// time, an aborted client connection for a body cut short after the header went out.
template <class Stream>
asio::awaitable<void> forward(beast::tcp_stream& client, RequestParser& req_parser, Stream& upstream,
                              const Config& cfg) {
  if (!co_await send_request(client, req_parser, upstream, cfg)) co_return;
  const bool head = req_parser.get().method() == http::verb::head;
  beast::flat_buffer up_buf;
  std::optional<ResponseParser> res;
  if (!co_await read_response_header(client, upstream, up_buf, res, head, cfg)) co_return;

  auto& msg = res->get();
  const unsigned status = msg.result_int();
  const bool bodyless = head || status == 204 || status == 304;
  const auto length = res->content_length();
  // Re-frame chunked or close-delimited bodies as chunked (--lenient: every body, so that a body
  // cut short can be ended with a last chunk, as if complete).
  const bool chunked_out = !bodyless && (!length || cfg.lenient);
  std::string header = fmt::format("HTTP/1.1 {} {}\r\n{}Via: 1.1 upfault-reference\r\nConnection: close\r\n", status,
                                   std::string(msg.reason()), end_to_end_fields(msg));
  if (length && !chunked_out)
    header += fmt::format("Content-Length: {}\r\n", *length);
  else if (chunked_out)
    header += "Transfer-Encoding: chunked\r\n";
  header += "\r\n";
  client.expires_after(cfg.client_timeout);
  if (auto [ec, n] = co_await asio::async_write(client, asio::buffer(header), use_tuple); ec) co_return;
  if (!bodyless && !co_await relay_body(client, upstream, up_buf, *res, chunked_out, cfg)) co_return;
  error_code ec;
  client.socket().shutdown(tcp::socket::shutdown_send, ec);
}
}  // namespace

asio::awaitable<void> reference_session(tcp::socket socket, const Config& cfg) {
  beast::tcp_stream client(std::move(socket));
  beast::flat_buffer client_buf;
  RequestParser req_parser;
  req_parser.body_limit(16 * 1024 * 1024);
  client.expires_after(cfg.client_timeout);
  if (auto [ec, n] = co_await http::async_read(client, client_buf, req_parser, use_tuple); ec) {
    if (ec != http::error::end_of_stream) co_await send_own(client, 400, "Bad Request", ec.message());
    co_return;
  }
  auto& req = req_parser.get();
  if (!cfg.crash_on.empty() && req.target().find(cfg.crash_on) != beast::string_view::npos) std::abort();
  if (cfg.backoff) {
    static std::uint64_t answered = 0;  // the gateway errors already followed by one unasked 502
    if (const auto sent = gateway_errors_sent(); sent > answered) {
      answered = sent;
      co_return co_await send_own(client, 502, "Bad Gateway", "backing off after an upstream failure");
    }
  }
  const auto& route = pick_route(cfg, req.target());
  if (route.scheme == "h2c")
    co_return co_await connect_and_forward_h2(client, route.to, cfg.connect_timeout, req,
                                              {cfg.read_timeout, cfg.client_timeout, cfg.lenient});

  // Connect, bounded by the connect timeout: a refused connect is 502, a timed-out one 504.
  beast::tcp_stream upstream(client.get_executor());
  upstream.expires_after(cfg.connect_timeout);
  if (auto [ec] = co_await upstream.async_connect(route.to, use_tuple); ec) {
    if (is_timeout(ec))
      co_await gateway_timeout(client, "upstream connect timed out");
    else
      co_await bad_gateway(client, "upstream connect failed: " + ec.message());
    co_return;
  }

  if (route.scheme == "https" || route.scheme == "h2") {
    beast::ssl_stream<beast::tcp_stream> tls(std::move(upstream), *cfg.tls);
    const bool shook = co_await tls_handshake(tls, client, cfg, route.scheme == "h2");
    if (!shook) co_return;
    if (route.scheme == "h2")  // HTTP/2 over TLS (ALPN h2): h2_upstream.hpp
      co_await forward_h2(tls, client, make_h2_request(req), {cfg.read_timeout, cfg.client_timeout, cfg.lenient});
    else
      co_await forward(client, req_parser, tls, cfg);
    co_return;
  }
  co_await forward(client, req_parser, upstream, cfg);
}

}  // namespace upfault_ref
