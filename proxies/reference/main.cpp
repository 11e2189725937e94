// upfault-reference-proxy: test equipment, not a product. This file is its command line and its
// listener; each accepted connection goes to one of three roles (sessions.hpp):
//
// Reference mode (reference_session.cpp, h2_upstream.cpp): a reverse proxy that does what RFC
// 9110/9112 ask of an intermediary whose upstream misbehaves. --lenient makes it wrong on purpose.
//
// Blind mode (--blind, blind_session.cpp): copies bytes both ways with no parsing and no
// timeouts, so the harness can show that its checks catch a proxy that does nothing right.
//
// --misbehave MODE (misbehaving_session.cpp): a proxy under test that is itself broken.
#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <boost/asio.hpp>
#include <boost/asio/ssl/context.hpp>

#include <charconv>
#include <iostream>
#include <optional>

#include "sessions.hpp"

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using error_code = boost::system::error_code;
using upfault_ref::Config;
using upfault_ref::Millis;
using upfault_ref::Route;

namespace {

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

asio::awaitable<void> serve(tcp::acceptor& acceptor, const Config& cfg) {
  while (true) {
    auto [ec, socket] = co_await acceptor.async_accept(use_tuple);
    if (ec) continue;
    error_code ignored;
    socket.set_option(tcp::no_delay(true), ignored);
    auto session = !cfg.misbehave.empty() ? upfault_ref::misbehaving_session(std::move(socket), cfg)
                   : cfg.blind            ? upfault_ref::blind_session(std::move(socket), cfg)
                                          : upfault_ref::reference_session(std::move(socket), cfg);
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

// The command line as written, before configure() checks it.
struct Options {
  std::string listen = "127.0.0.1:0", upstream, connect_timeout = "1s", read_timeout = "1s", ca;
  std::vector<std::string> routes;
};

void setup_options(CLI::App& app, Options& o, Config& cfg) {
  app.add_option("--listen", o.listen, "Address to listen on (loopback)")->capture_default_str();
  app.add_option("--upstream", o.upstream, "Default upstream HOST:PORT")->required();
  app.add_option("--route", o.routes,
                 "PREFIX=[https://|h2c://|h2://]HOST:PORT: requests whose target starts with PREFIX go there (https: "
                 "over TLS; h2c: HTTP/2 with prior knowledge; h2: HTTP/2 over TLS, ALPN h2)");
  app.add_option("--ca", o.ca, "CA certificate (PEM) that https upstreams' certificates must come from");
  app.add_option("--tls-name", cfg.tls_name, "Name https upstreams' certificates must be for (and SNI)")
      ->capture_default_str();
  app.add_flag("--lenient", cfg.lenient,
               "Wrong on purpose: trust any certificate, no handshake timeout, any end of the upstream connection "
               "ends a body as if complete, the origin's 5xx replaced by a 502; HTTP/2 responses unvalidated, a reset "
               "stream taken as the end of the body, no HTTP/2 read timeout");
  app.add_option("--connect-timeout", o.connect_timeout, "Upstream connect timeout")->capture_default_str();
  app.add_option("--read-timeout", o.read_timeout, "Upstream read timeout, per read")->capture_default_str();
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
  app.add_option("--crash-on", cfg.crash_on,
                 "Test equipment: the reference proxy, but it aborts on a request whose target contains TEXT (a "
                 "crash one upstream response or request triggers)");
  app.add_flag("--backoff", cfg.backoff,
               "Test equipment: the reference proxy, but after a 502 or 504 of its own it answers the next request "
               "502 without asking the upstream (a proxy's memory of a failure)");
  app.set_version_flag("--version", "upfault-reference-proxy 0.1.0");
}

// Completes `cfg` from the options: endpoints, timeouts, routes and the TLS context for https
// and h2 routes. An empty string, or what is wrong.
std::string configure(const Options& o, Config& cfg) {
  auto l = parse_endpoint(o.listen);
  auto u = parse_endpoint(o.upstream);
  auto ct = parse_ms(o.connect_timeout);
  auto rt = parse_ms(o.read_timeout);
  if (!l) return "--listen: not HOST:PORT: " + o.listen;
  if (!u) return "--upstream: not HOST:PORT: " + o.upstream;
  if (!ct || !rt) return "timeouts are written like 1s or 500ms";
  cfg.listen = *l, cfg.upstream = Route{"", *u}, cfg.connect_timeout = *ct, cfg.read_timeout = *rt;
  bool https = false;
  for (const auto& r : o.routes) {
    auto eq = r.find('=');
    std::string to = eq == std::string::npos ? "" : r.substr(eq + 1), scheme = "http";
    if (auto sep = to.find("://"); sep != std::string::npos) scheme = to.substr(0, sep), to = to.substr(sep + 3);
    auto ep = parse_endpoint(to);
    if (!ep || (scheme != "http" && scheme != "https" && scheme != "h2c" && scheme != "h2"))
      return "--route: not PREFIX=[https://|h2c://|h2://]HOST:PORT: " + r;
    https = https || scheme == "https" || scheme == "h2";
    cfg.routes.push_back(Route{r.substr(0, eq), *ep, scheme});
  }
  if (!https) return {};
  cfg.tls = std::make_shared<asio::ssl::context>(asio::ssl::context::tls_client);
  if (o.ca.empty() && !cfg.lenient && !cfg.blind)
    return "https routes need --ca FILE (or --lenient or --blind, which trust anything)";
  error_code ec;
  if (!o.ca.empty()) cfg.tls->load_verify_file(o.ca, ec);
  if (ec) return fmt::format("--ca {}: {}", o.ca, ec.message());
  return {};
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"upfault-reference-proxy: an RFC 9110/9112-conformant reverse proxy for testing upfault itself"};
  Options options;
  Config cfg;
  setup_options(app, options, cfg);
  CLI11_PARSE(app, argc, argv);

  auto fail = [](const std::string& msg) {
    std::cerr << "upfault-reference-proxy: " << msg << "\n";
    return 2;
  };
  if (auto error = configure(options, cfg); !error.empty()) return fail(error);

  asio::io_context ioc{1};
  tcp::acceptor acceptor(ioc);
  try {
    acceptor.open(cfg.listen.protocol());
    acceptor.set_option(tcp::acceptor::reuse_address(true));
    acceptor.bind(cfg.listen);
    acceptor.listen(asio::socket_base::max_listen_connections);
  } catch (const std::exception& e) {
    return fail(fmt::format("cannot listen on {}: {}", options.listen, e.what()));
  }
  asio::signal_set stop(ioc, SIGINT, SIGTERM);
  stop.async_wait([&](const error_code&, int) { ioc.stop(); });
  asio::co_spawn(ioc, serve(acceptor, cfg), asio::detached);
  std::cerr << "upfault-reference-proxy: " << (cfg.blind ? "blind relay" : "reference proxy") << " on "
            << acceptor.local_endpoint() << "\n";
  ioc.run();
  return 0;
}
