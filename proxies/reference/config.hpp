#pragma once
// What the reference proxy was told on its command line (main.cpp), shared by its three roles:
// the reference proxy (reference_session.cpp), the blind relay (blind_session.cpp) and the
// misbehaving variants (misbehaving_session.cpp).
#include <boost/asio/ip/tcp.hpp>

#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace boost::asio::ssl {
class context;
}

namespace upfault_ref {

using Millis = std::chrono::milliseconds;

/// Where requests whose target starts with `prefix` go, and how (http | https | h2c | h2).
struct Route {
  std::string prefix;
  boost::asio::ip::tcp::endpoint to;
  std::string scheme = "http";  // h2c and h2: h2_upstream.hpp
};

/// The proxy's configuration; defaults: connect and read timeouts 1 s, client timeout 30 s.
struct Config {
  boost::asio::ip::tcp::endpoint listen;
  Route upstream;
  std::vector<Route> routes;                       // path prefix → upstream
  std::shared_ptr<boost::asio::ssl::context> tls;  // for https routes: trusts --ca, verifies --tls-name
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
  // Test equipment for upfault's isolation reruns, on top of the reference proxy:
  std::string crash_on;  // --crash-on TEXT: abort on a request whose target contains TEXT
  bool backoff = false;  // --backoff: after a 502/504 of its own, answer the next request 502 unasked
};

/// The route with the longest prefix of `target`; the default upstream when none matches.
inline const Route& pick_route(const Config& cfg, std::string_view target) {
  const Route* best = &cfg.upstream;
  for (const auto& r : cfg.routes)
    if (target.substr(0, r.prefix.size()) == r.prefix && r.prefix.size() > best->prefix.size()) best = &r;
  return *best;
}

}  // namespace upfault_ref
