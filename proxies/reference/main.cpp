// upfault-reference-proxy: test equipment, not a product.
//
// Reference mode: a reverse proxy that does what RFC 9110/9112 ask of an intermediary whose
// upstream misbehaves — 502 for an invalid or missing response, 504 when none arrives in time,
// valid errors forwarded unchanged, hop-by-hop fields removed, and, once the header is
// forwarded, a body cut short made visible by resetting the client connection.
//
// Blind mode (--blind): copies bytes both ways with no parsing and no timeouts, so the harness
// can show that its checks catch a proxy that does nothing right.
#include <fmt/format.h>
#include <CLI/CLI.hpp>
#include <boost/asio.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include <charconv>
#include <iostream>
#include <set>

#include "h2_upstream.hpp"

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using error_code = boost::system::error_code;
using namespace std::chrono_literals;
using Millis = std::chrono::milliseconds;
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

namespace {

struct Route {
  std::string prefix;
  tcp::endpoint to;
  std::string scheme = "http";  // http | https | h2c | h2 (h2_upstream.hpp)
};

struct Config {
  tcp::endpoint listen;
  Route upstream;
  std::vector<Route> routes;                // path prefix → upstream
  std::shared_ptr<asio::ssl::context> tls;  // for https routes: trusts --ca, verifies --tls-name
  std::string tls_name = "upfault.test";
  // --lenient: wrong on purpose, to prove the checks can fail: no certificate check, no
  // handshake timeout, a TCP FIN without close_notify (or any other end) ends a body as if it
  // were complete, and the origin's own 5xx is replaced by a 502 of its own.
  bool lenient = false;
  Millis connect_timeout{1000};
  Millis read_timeout{1000};
  Millis client_timeout{30000};
  bool blind = false;
  std::string misbehave;  // test equipment for upfault's own hardening tests; see --misbehave
};

const Route& pick_route(const Config& cfg, std::string_view target) {
  const Route* best = &cfg.upstream;
  for (const auto& r : cfg.routes)
    if (target.substr(0, r.prefix.size()) == r.prefix && r.prefix.size() > best->prefix.size()) best = &r;
  return *best;
}
const tcp::endpoint& pick_upstream(const Config& cfg, std::string_view target) { return pick_route(cfg, target).to; }

// The TCP layer of an upstream stream, for its timeouts.
beast::tcp_stream& tcp_of(beast::tcp_stream& s) { return s; }
beast::tcp_stream& tcp_of(beast::ssl_stream<beast::tcp_stream>& s) { return s.next_layer(); }

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

// RFC 9110 §7.6.1: hop-by-hop fields, plus every field the Connection header names.
template <class Fields>
std::set<std::string> hop_by_hop(const Fields& fields) {
  std::set<std::string> out = {"connection",        "keep-alive", "proxy-connection", "te", "trailer",
                               "transfer-encoding", "upgrade",    "content-length"};  // framing is recomputed
  for (auto it = fields.find(http::field::connection); it != fields.end() && iequals(it->name_string(), "connection");
       ++it) {
    std::string_view v = it->value();
    while (!v.empty()) {
      auto comma = v.find(',');
      auto token = v.substr(0, comma);
      while (!token.empty() && (token.front() == ' ' || token.front() == '\t')) token.remove_prefix(1);
      while (!token.empty() && (token.back() == ' ' || token.back() == '\t')) token.remove_suffix(1);
      std::string lower(token);
      for (auto& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      if (!lower.empty()) out.insert(lower);
      v = comma == std::string_view::npos ? std::string_view{} : v.substr(comma + 1);
    }
  }
  return out;
}

// The forwarded field lines, without hop-by-hop fields; an obs-fold (or any CR/LF) becomes SP.
template <class Fields>
std::string end_to_end_fields(const Fields& fields) {
  auto skip = hop_by_hop(fields);
  std::string out;
  for (const auto& f : fields) {
    std::string name(f.name_string());
    std::string lower = name;
    for (auto& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (skip.count(lower)) continue;
    std::string value(f.value());
    for (auto& c : value)
      if (c == '\r' || c == '\n') c = ' ';
    out += fmt::format("{}: {}\r\n", name, value);
  }
  return out;
}

// A response the proxy makes itself (502, 504, 400), then a graceful close.
asio::awaitable<void> send_own(beast::tcp_stream& client, int status, std::string_view reason, std::string_view why) {
  std::string body = fmt::format("upfault-reference-proxy: {}\n", why);  // --intercept-errors uses it too
  std::string msg = fmt::format(
      "HTTP/1.1 {} {}\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n"
      "Via: 1.1 upfault-reference\r\n\r\n{}",
      status, reason, body.size(), body);
  client.expires_after(5s);
  co_await asio::async_write(client, asio::buffer(msg), use_tuple);
  error_code ec;
  client.socket().shutdown(tcp::socket::shutdown_send, ec);
}

asio::awaitable<void> bad_gateway(beast::tcp_stream& client, std::string_view why) {
  co_await send_own(client, 502, "Bad Gateway", why);
}
asio::awaitable<void> gateway_timeout(beast::tcp_stream& client, std::string_view why) {
  co_await send_own(client, 504, "Gateway Timeout", why);
}

// After the header went out, the only honest signal of a broken body is an aborted connection.
void abort_client(beast::tcp_stream& client) {
  error_code ec;
  client.socket().set_option(asio::socket_base::linger(true, 0), ec);  // RST, not FIN
  client.socket().close(ec);
}

bool is_timeout(const error_code& ec) { return ec == beast::error::timeout; }

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

asio::awaitable<bool> tls_handshake(beast::ssl_stream<beast::tcp_stream>& tls, beast::tcp_stream& client,
                                    const Config& cfg, bool h2 = false);
template <class Stream>
asio::awaitable<void> forward(beast::tcp_stream& client, http::request_parser<http::string_body>& req_parser,
                              Stream& upstream, const Config& cfg);

asio::awaitable<void> reference_session(tcp::socket socket, const Config& cfg) {
  beast::tcp_stream client(std::move(socket));
  beast::flat_buffer client_buf;
  http::request_parser<http::string_body> req_parser;
  req_parser.body_limit(16 * 1024 * 1024);
  client.expires_after(cfg.client_timeout);
  if (auto [ec, n] = co_await http::async_read(client, client_buf, req_parser, use_tuple); ec) {
    if (ec != http::error::end_of_stream) co_await send_own(client, 400, "Bad Request", ec.message());
    co_return;
  }
  auto& req = req_parser.get();
  if (const auto& route = pick_route(cfg, req.target()); route.scheme == "h2c")
    co_return co_await upfault_ref::connect_and_forward_h2(client, route.to, cfg.connect_timeout, req,
                                                           {cfg.read_timeout, cfg.client_timeout, cfg.lenient});

  // Connect, bounded by the connect timeout: a refused connect is 502, a timed-out one 504.
  beast::tcp_stream upstream(client.get_executor());
  upstream.expires_after(cfg.connect_timeout);
  if (auto [ec] = co_await upstream.async_connect(pick_upstream(cfg, req.target()), use_tuple); ec) {
    if (is_timeout(ec))
      co_await gateway_timeout(client, "upstream connect timed out");
    else
      co_await bad_gateway(client, "upstream connect failed: " + ec.message());
    co_return;
  }

  if (const auto& scheme = pick_route(cfg, req.target()).scheme; scheme == "https" || scheme == "h2") {
    beast::ssl_stream<beast::tcp_stream> tls(std::move(upstream), *cfg.tls);
    const bool shook = co_await tls_handshake(tls, client, cfg, scheme == "h2");
    if (!shook) co_return;
    if (scheme == "h2")  // HTTP/2 over TLS (ALPN h2): h2_upstream.hpp
      co_await upfault_ref::forward_h2(tls, client, upfault_ref::make_h2_request(req_parser.get()),
                                       {cfg.read_timeout, cfg.client_timeout, cfg.lenient});
    else
      co_await forward(client, req_parser, tls, cfg);
    co_return;
  }
  co_await forward(client, req_parser, upstream, cfg);
}

// RFC 9112 §9.8: a FIN without close_notify is an incomplete close. Beast reports it as
// stream_truncated; only --lenient takes it for the end of the body.
bool truncated_is_end(const error_code& ec, const Config& cfg) {
  return cfg.lenient && ec == asio::ssl::error::stream_truncated;
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

// Sends the request upstream and relays the response: 502 for an invalid one, 504 for none in
// time, an aborted client connection for a body cut short after the header went out.
template <class Stream>
asio::awaitable<void> forward(beast::tcp_stream& client, http::request_parser<http::string_body>& req_parser,
                              Stream& upstream, const Config& cfg) {
  auto& req = req_parser.get();
  const bool head = req.method() == http::verb::head;
  std::string out = fmt::format("{} {} HTTP/1.1\r\n{}", std::string(req.method_string()), std::string(req.target()),
                                end_to_end_fields(req));
  out += "Via: 1.1 upfault-reference\r\nConnection: close\r\n";
  if (!req.body().empty() || req_parser.content_length())
    out += fmt::format("Content-Length: {}\r\n", req.body().size());
  out += "\r\n" + req.body();
  tcp_of(upstream).expires_after(cfg.read_timeout);
  if (auto [ec, n] = co_await asio::async_write(upstream, asio::buffer(out), use_tuple); ec) {
    if (is_timeout(ec))
      co_await gateway_timeout(client, "sending the request upstream timed out");
    else
      co_await bad_gateway(client, "sending the request upstream failed: " + ec.message());
    co_return;
  }

  // The response header. The read timeout applies to each read, as in common proxies.
  beast::flat_buffer up_buf;
  std::optional<http::response_parser<http::buffer_body>> res;
  while (true) {
    res.emplace();
    res->header_limit(64 * 1024);
    if (head) res->skip(true);
    if (auto ec = co_await read_header(upstream, up_buf, *res, cfg.read_timeout); ec) {
      if (is_timeout(ec))
        co_await gateway_timeout(client, "no response header from upstream in time");
      else
        co_await bad_gateway(client, "invalid or missing response header from upstream: " + ec.message());
      co_return;
    }
    const unsigned status = res->get().result_int();
    if (status < 100 || status > 599 || status == 101) {  // 101: we never ask for an upgrade
      co_await bad_gateway(client, fmt::format("upstream sent status {}", status));
      co_return;
    }
    if (status >= 500 && cfg.lenient) {  // --lenient: the origin's own error replaced (proxy_intercept_errors)
      co_await bad_gateway(client, fmt::format("upstream sent status {}; replaced", status));
      co_return;
    }
    if (status >= 200) break;
    // RFC 9110 §15.2: forward interim responses we did not ask for.
    std::string interim = fmt::format("HTTP/1.1 {} {}\r\n{}\r\n", status, std::string(res->get().reason()),
                                      end_to_end_fields(res->get()));
    client.expires_after(cfg.client_timeout);
    if (auto [ec, n] = co_await asio::async_write(client, asio::buffer(interim), use_tuple); ec) co_return;
  }

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

  // The body, streamed. Any failure now aborts the client connection.
  char buf[16 * 1024];
  while (!bodyless && !res->is_done()) {
    msg.body().data = buf;
    msg.body().size = sizeof buf;
    tcp_of(upstream).expires_after(cfg.read_timeout);
    auto [ec, n] = co_await http::async_read_some(upstream, up_buf, *res, use_tuple);
    if (ec == http::error::need_buffer) ec = {};
    if (truncated_is_end(ec, cfg)) {  // --lenient: the incomplete close taken for the end
      error_code eof_ec;
      res->put_eof(eof_ec);
      ec = eof_ec;
    }
    if (ec && cfg.lenient && chunked_out) break;  // --lenient: any end is the end (the last chunk follows)
    if (ec) {
      abort_client(client);
      co_return;
    }
    const std::size_t got = sizeof buf - msg.body().size;
    if (got == 0) continue;
    std::string chunk = chunked_out ? fmt::format("{:x}\r\n", got) : std::string{};
    chunk.append(buf, got);
    if (chunked_out) chunk += "\r\n";
    client.expires_after(cfg.client_timeout);
    if (auto [wec, wn] = co_await asio::async_write(client, asio::buffer(chunk), use_tuple); wec) co_return;
  }
  if (chunked_out) {
    client.expires_after(cfg.client_timeout);
    co_await asio::async_write(client, asio::buffer(std::string_view("0\r\n\r\n")), use_tuple);
  }
  error_code ec;
  client.socket().shutdown(tcp::socket::shutdown_send, ec);
}

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

// --misbehave: a proxy under test that is itself broken, so the harness's handling of it is tested.
asio::awaitable<void> misbehaving_session(tcp::socket socket, const Config& cfg) {
  static int handled = 0;
  beast::tcp_stream client(std::move(socket));
  beast::flat_buffer buf;
  http::request<http::string_body> req;
  client.expires_after(cfg.client_timeout);
  if (auto [ec, n] = co_await http::async_read(client, buf, req, use_tuple); ec) co_return;
  const std::string& mode = cfg.misbehave;
  if (mode == "hang") {  // never answer, never close
    asio::steady_timer forever(client.get_executor());
    forever.expires_after(std::chrono::hours(1));
    co_await forever.async_wait(use_tuple);
  } else if (mode == "reset") {
    abort_client(client);
  } else if (mode == "close") {  // no byte, then FIN: "Empty reply from server"
    error_code ignored;
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

asio::awaitable<void> serve(tcp::acceptor& acceptor, const Config& cfg) {
  while (true) {
    auto [ec, socket] = co_await acceptor.async_accept(use_tuple);
    if (ec) continue;
    error_code ignored;
    socket.set_option(tcp::no_delay(true), ignored);
    auto session = !cfg.misbehave.empty() ? misbehaving_session(std::move(socket), cfg)
                   : cfg.blind            ? blind_session(std::move(socket), cfg)
                                          : reference_session(std::move(socket), cfg);
    asio::co_spawn(acceptor.get_executor(), std::move(session), [](std::exception_ptr e) {
      if (!e) return;
      try {
        std::rethrow_exception(e);
      } catch (const std::exception& ex) {
        std::cerr << "upfault-reference-proxy: session failed: " << ex.what() << "\n";
      }
    });
  }
}

std::optional<tcp::endpoint> parse_endpoint(const std::string& text) {
  auto colon = text.rfind(':');
  if (colon == std::string::npos) return std::nullopt;
  unsigned port = 0;
  auto digits = std::string_view(text).substr(colon + 1);
  auto [p, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), port);
  if (ec != std::errc{} || port > 65535) return std::nullopt;
  error_code aec;
  auto addr = asio::ip::make_address(text.substr(0, colon), aec);
  if (aec) return std::nullopt;
  return tcp::endpoint(addr, static_cast<unsigned short>(port));
}

std::optional<Millis> parse_ms(std::string text) {
  double factor = 1;
  if (text.size() > 2 && text.ends_with("ms"))
    text.resize(text.size() - 2);
  else if (text.size() > 1 && text.ends_with("s"))
    text.resize(text.size() - 1), factor = 1000;
  double v = 0;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc{} || p != text.data() + text.size() || v < 0) return std::nullopt;
  return Millis{static_cast<Millis::rep>(v * factor)};
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"upfault-reference-proxy: an RFC 9110/9112-conformant reverse proxy for testing upfault itself"};
  std::string listen = "127.0.0.1:0", upstream, connect_timeout = "1s", read_timeout = "1s";
  std::vector<std::string> routes;
  std::string ca;
  Config cfg;
  app.add_option("--listen", listen, "Address to listen on (loopback)")->capture_default_str();
  app.add_option("--upstream", upstream, "Default upstream HOST:PORT")->required();
  app.add_option("--route", routes,
                 "PREFIX=[https://|h2c://|h2://]HOST:PORT: requests whose target starts with PREFIX go there (https: "
                 "over TLS; h2c: HTTP/2 with prior knowledge; h2: HTTP/2 over TLS, ALPN h2)");
  app.add_option("--ca", ca, "CA certificate (PEM) that https upstreams' certificates must come from");
  app.add_option("--tls-name", cfg.tls_name, "Name https upstreams' certificates must be for (and SNI)")
      ->capture_default_str();
  app.add_flag("--lenient", cfg.lenient,
               "Wrong on purpose: trust any certificate, no handshake timeout, any end of the upstream connection "
               "ends a body as if complete, the origin's 5xx replaced by a 502; HTTP/2 responses unvalidated, a reset "
               "stream taken as the end of the body, no HTTP/2 read timeout");
  app.add_option("--connect-timeout", connect_timeout, "Upstream connect timeout")->capture_default_str();
  app.add_option("--read-timeout", read_timeout, "Upstream read timeout, per read")->capture_default_str();
  app.add_flag("--blind", cfg.blind, "Blind relay: copy bytes both ways, no parsing, no timeouts");
  app.add_option("--misbehave", cfg.misbehave,
                 "Test equipment: hang | reset | close | garbage | flood | crash-after=N (abort while handling the Nth "
                 "request; 502 before it)")
      ->check(CLI::IsMember({"hang", "reset", "close", "garbage", "flood"}) |
              CLI::Validator(
                  [](std::string& v) {
                    return v.rfind("crash-after=", 0) == 0 ? std::string{} : std::string("unknown mode");
                  },
                  "crash-after=N"));
  app.set_version_flag("--version", "upfault-reference-proxy 0.1.0");
  CLI11_PARSE(app, argc, argv);

  auto fail = [](const std::string& msg) {
    std::cerr << "upfault-reference-proxy: " << msg << "\n";
    return 2;
  };
  auto l = parse_endpoint(listen);
  auto u = parse_endpoint(upstream);
  auto ct = parse_ms(connect_timeout);
  auto rt = parse_ms(read_timeout);
  if (!l) return fail("--listen: not HOST:PORT: " + listen);
  if (!u) return fail("--upstream: not HOST:PORT: " + upstream);
  if (!ct || !rt) return fail("timeouts are written like 1s or 500ms");
  cfg.listen = *l, cfg.upstream = Route{"", *u}, cfg.connect_timeout = *ct, cfg.read_timeout = *rt;
  bool https = false;
  for (const auto& r : routes) {
    auto eq = r.find('=');
    std::string to = eq == std::string::npos ? "" : r.substr(eq + 1), scheme = "http";
    if (auto sep = to.find("://"); sep != std::string::npos) scheme = to.substr(0, sep), to = to.substr(sep + 3);
    auto ep = parse_endpoint(to);
    if (!ep || (scheme != "http" && scheme != "https" && scheme != "h2c" && scheme != "h2"))
      return fail("--route: not PREFIX=[https://|h2c://|h2://]HOST:PORT: " + r);
    https = https || scheme == "https" || scheme == "h2";
    cfg.routes.push_back(Route{r.substr(0, eq), *ep, scheme});
  }
  if (https) {
    cfg.tls = std::make_shared<asio::ssl::context>(asio::ssl::context::tls_client);
    if (ca.empty() && !cfg.lenient && !cfg.blind)
      return fail("https routes need --ca FILE (or --lenient or --blind, which trust anything)");
    error_code ec;
    if (!ca.empty()) cfg.tls->load_verify_file(ca, ec);
    if (ec) return fail(fmt::format("--ca {}: {}", ca, ec.message()));
  }

  asio::io_context ioc{1};
  tcp::acceptor acceptor(ioc);
  try {
    acceptor.open(cfg.listen.protocol());
    acceptor.set_option(tcp::acceptor::reuse_address(true));
    acceptor.bind(cfg.listen);
    acceptor.listen(asio::socket_base::max_listen_connections);
  } catch (const std::exception& e) {
    return fail(fmt::format("cannot listen on {}: {}", listen, e.what()));
  }
  asio::signal_set stop(ioc, SIGINT, SIGTERM);
  stop.async_wait([&](const error_code&, int) { ioc.stop(); });
  asio::co_spawn(ioc, serve(acceptor, cfg), asio::detached);
  std::cerr << "upfault-reference-proxy: " << (cfg.blind ? "blind relay" : "reference proxy") << " on "
            << acceptor.local_endpoint() << "\n";
  ioc.run();
  return 0;
}
