#include "upfault/rig.hpp"
#include <unistd.h>
#include "upfault/verdict.hpp"
#include "upfault/loader.hpp"
#include "upfault/client.hpp"

#include <fmt/format.h>
#include <boost/asio/ip/address.hpp>

#include <charconv>

namespace upfault {

std::optional<HostPort> parse_host_port(std::string text, std::string& error, bool allow_any_port) {
  if (text.rfind("http://", 0) == 0) text = text.substr(7);
  HostPort hp;
  if (auto slash = text.find('/'); slash != std::string::npos) {
    hp.path = text.substr(slash);
    text = text.substr(0, slash);
  }
  std::string port;
  if (!text.empty() && text.front() == '[') {
    auto close = text.find(']');
    if (close == std::string::npos || close + 1 >= text.size() || text[close + 1] != ':') {
      error = fmt::format("\"{}\" is not [IPv6]:PORT", text);
      return std::nullopt;
    }
    hp.host = text.substr(1, close - 1);
    port = text.substr(close + 2);
  } else {
    auto colon = text.rfind(':');
    if (colon == std::string::npos) {
      error = fmt::format("\"{}\" has no port; write HOST:PORT", text);
      return std::nullopt;
    }
    hp.host = text.substr(0, colon);
    port = text.substr(colon + 1);
  }
  if (hp.host == "localhost") hp.host = "127.0.0.1";
  unsigned value = 0;
  auto [p, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (port.empty() || ec != std::errc{} || p != port.data() + port.size() || (value == 0 && !allow_any_port) ||
      value > 65535) {
    error = fmt::format("\"{}\" is not a port number", port);
    return std::nullopt;
  }
  hp.port = static_cast<std::uint16_t>(value);
  return hp;
}

bool is_loopback(const std::string& host) {
  if (host == "localhost") return true;
  boost::system::error_code ec;
  const auto address = boost::asio::ip::make_address(host, ec);
  return !ec && address.is_loopback();
}

std::optional<HostPort> parse_loopback_address(const std::string& text, bool allow_remote, std::string& error,
                                               bool allow_any_port) {
  auto hp = parse_host_port(text, error, allow_any_port);
  if (hp && !allow_remote && !is_loopback(hp->host)) {
    error = fmt::format("{} is not a loopback address; pass --allow-remote to use another host", hp->host);
    return std::nullopt;
  }
  return hp;
}

Millis default_deadline(const ProxyTimeouts& timeouts) { return timeouts.read * 4 + Millis{2000}; }

std::unique_ptr<Rig> Rig::start(const std::vector<Scenario>& scenarios, RigOptions options, std::string& error) {
  std::unique_ptr<Rig> rig(new Rig);
  if (options.profile) options.upstream.timeouts = options.profile->timeouts;
  rig->timeouts_ = options.upstream.timeouts;
  try {
    rig->upstream_ = std::make_unique<FakeUpstream>(options.upstream);
  } catch (const std::exception& e) {
    error = fmt::format("the fake upstream cannot listen on {}", e.what());
    return nullptr;
  }
  for (const auto& s : scenarios) rig->upstream_->add(s);
  rig->upstream_->start();
  if (options.profile) {
    // The config is rendered with the timeouts the verdicts assume.
    rig->version_ = proxy_version(*options.profile);
    rig->process_ = std::make_unique<ProxyProcess>();
    if (!rig->process_->start(*options.profile, rig->upstream_->ports(), error)) return nullptr;
  } else if (options.proxy) {
    rig->host_ = options.proxy->host;
    rig->port_ = options.proxy->port;
    if (!rig->probe(error)) return nullptr;
  }
  rig->options_ = std::move(options);
  return rig;
}

// A proxy the user started is asked once, before the suite, whether it routes /__upfault/ to
// this upstream: otherwise every verdict would be about a request that went elsewhere.
bool Rig::probe(std::string& error) {
  const std::string token = fmt::format("upfault-probe {} {}", ::getpid(), upstream_->port());
  const std::string name = "upfault-probe";
  auto loaded = load_scenario_text(fmt::format("name = \"{}\"\nsummary = \"routing probe\"\nrationale = \"setup\"\n"
                                               "level = \"must\"\n[[upstream.steps]]\nread = \"request\"\n"
                                               "[[upstream.steps]]\nresponse = {{ status = 200, body = \"{}\" }}\n"
                                               "[expect]\nstatus = 200\n",
                                               name, token),
                                   "probe");
  if (loaded.scenarios.empty()) {
    error = "the routing probe did not load: " + loaded.errors.front().str();
    return false;
  }
  upstream_->add(loaded.scenarios.front());
  FetchOptions fo;
  fo.host = host_;
  fo.port = port_;
  fo.deadline = Millis{5000};
  const auto wire = render_request(loaded.scenarios.front().request, route_prefix(name),
                                   {{"X-Upfault-Scenario", name}}, fmt::format("{}:{}", host_, port_));
  const auto got = fetch(fo, wire);
  if (got.ending == Ending::complete && got.response->status == 200 && got.response->body == token) return true;
  if (got.ending == Ending::connect_failed) {
    error = fmt::format("nothing accepts connections at --proxy-url ({}:{}): start your proxy there first ({})", host_,
                        port_, got.error);
    return false;
  }
  error = fmt::format(
      "the proxy at {}:{} did not pass a probe request (GET {}/) to upfault's upstream at {}:{}: got {}. Point the "
      "proxy's upstream at {}:{} (--upstream-port) and route /__upfault/ paths there unchanged.",
      host_, port_, route_prefix(name), upstream_->host(), upstream_->port(), describe(got), upstream_->host(),
      upstream_->port());
  return false;
}

Rig::~Rig() { stop(); }

void Rig::stop() {
  if (process_) process_->stop();
  if (upstream_) upstream_->stop();
}

bool Rig::restart_proxy(std::string& error) {
  if (!options_.profile) {
    error = "only a proxy upfault started can be restarted";
    return false;
  }
  process_ = std::make_unique<ProxyProcess>();
  return process_->start(*options_.profile, upstream_->ports(), error);
}

std::uint16_t Rig::proxy_port() const { return process_ ? process_->port() : port_; }

ProxyInfo Rig::info() const {
  ProxyInfo p;
  p.name = options_.profile ? options_.profile->name : "proxy-url";
  p.version = version_;
  p.url = fmt::format("http://{}:{}", host_.find(':') != std::string::npos ? "[" + host_ + "]" : host_, proxy_port());
  return p;
}

}  // namespace upfault
