#include "upfault/rig.hpp"
#include <unistd.h>
#include "base/util.hpp"
#include "upfault/client.hpp"
#include "upfault/loader.hpp"
#include "upfault/verdict.hpp"

#include <fmt/format.h>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <charconv>

namespace upfault {

std::string authority(std::string_view host, unsigned port) {
  return host.find(':') != std::string_view::npos ? fmt::format("[{}]:{}", host, port)
                                                  : fmt::format("{}:{}", host, port);
}

Result<HostPort> parse_host_port(std::string text, bool allow_any_port) {
  if (text.rfind("http://", 0) == 0) text = text.substr(7);
  HostPort hp;
  if (auto slash = text.find('/'); slash != std::string::npos) {
    hp.path = text.substr(slash);
    text = text.substr(0, slash);
  }
  std::string port;
  if (!text.empty() && text.front() == '[') {
    auto close = text.find(']');
    if (close == std::string::npos || close + 1 >= text.size() || text[close + 1] != ':')
      return problem(fmt::format("\"{}\" is not [IPv6]:PORT", text));
    hp.host = text.substr(1, close - 1);
    port = text.substr(close + 2);
  } else {
    auto colon = text.rfind(':');
    if (colon == std::string::npos) return problem(fmt::format("\"{}\" has no port; write HOST:PORT", text));
    hp.host = text.substr(0, colon);
    port = text.substr(colon + 1);
  }
  if (hp.host == "localhost") hp.host = "127.0.0.1";
  unsigned value = 0;
  auto [p, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (port.empty() || ec != std::errc{} || p != port.data() + port.size() || (value == 0 && !allow_any_port) ||
      value > 65535)
    return problem(fmt::format("\"{}\" is not a port number", port));
  hp.port = static_cast<std::uint16_t>(value);
  return hp;
}

bool is_loopback(const std::string& host) {
  if (host == "localhost") return true;
  boost::system::error_code ec;
  const auto address = boost::asio::ip::make_address(host, ec);
  return !ec && address.is_loopback();
}

Result<HostPort> parse_loopback_address(const std::string& text, bool allow_remote, bool allow_any_port) {
  auto hp = parse_host_port(text, allow_any_port);
  if (hp && !allow_remote && !is_loopback(hp->host))
    return problem(fmt::format("{} is not a loopback address; pass --allow-remote to use another host", hp->host));
  return hp;
}

Millis default_deadline(const ProxyTimeouts& timeouts) { return timeouts.read * 4 + Millis{2000}; }

namespace {

// The known-good scenario the keep-alive probe asks for (observed.hpp), loaded once.
const Scenario& keepalive_probe() {
  static const Scenario probe = [] {
    auto made = own_scenario(kKeepAliveProbe, "keep-alive probe", UpstreamProtocol::http1,
                             fmt::format("[[upstream.steps]]\nread = \"request\"\n[[upstream.steps]]\n"
                                         "response = {{ status = 200, body = {} }}\n",
                                         toml_quote(kKeepAliveProbeBody)));
    if (!made) throw std::logic_error(made.error().message);
    return std::move(*made);
  }();
  return probe;
}

}  // namespace

Result<std::unique_ptr<Rig>> Rig::start(const std::vector<Scenario>& scenarios, RigOptions options) {
  std::unique_ptr<Rig> rig(new Rig);
  if (options.profile) options.upstream.timeouts = options.profile->timeouts;
  options.upstream.preflight = (options.profile || options.proxy) && options.check_routes;
  rig->timeouts_ = options.upstream.timeouts;
  auto upstream = FakeUpstream::open(options.upstream);
  if (!upstream) return upstream.error().prefixed("the fake upstream cannot listen on ");
  rig->upstream_ = std::move(*upstream);
  for (const auto& s : scenarios) rig->upstream_->add(s);
  rig->upstream_->add(keepalive_probe());
  rig->upstream_->start();
  if (options.profile) {
    // The config is rendered with the timeouts the verdicts assume.
    rig->version_ = proxy_version(*options.profile);
    rig->process_ = std::make_unique<ProxyProcess>();
    if (auto started = rig->process_->start(*options.profile, rig->upstream_->ports()); !started)
      return started.error();
  } else if (options.proxy) {
    rig->host_ = options.proxy->host;
    rig->port_ = options.proxy->port;
  }
  rig->options_ = std::move(options);
  if (rig->options_.upstream.preflight)
    if (auto checked = rig->check_routes(scenarios); !checked) return checked.error();
  return rig;
}

// Every route the scenarios need, checked once before the suite: otherwise a verdict could be
// about a request that went elsewhere.
Result<void> Rig::check_routes(const std::vector<Scenario>& scenarios) {
  PreflightPlan plan;
  plan.host = host_;
  plan.port = proxy_port();
  plan.deadline = std::min(plan.deadline, default_deadline(timeouts_));
  plan.tls_note_bound = timeouts_.read + Millis{2000};  // as the runner waits for one (runner.cpp)
  if (options_.profile) {
    plan.proxy = options_.profile->name;
    plan.protocols = options_.profile->upstream_protocols;
    plan.plain_required = false;
  } else {
    plan.protocols = options_.protocols;
    plan.detect = plan.protocols.empty();
  }
  auto report = upfault::preflight(*upstream_, scenarios, plan);
  // A proxy that went to the background says what to change in its config.
  if (process_ && !process_->alive())
    return problem(process_->ended(options_.profile->name, "while pre-flight probed its routes"));
  if (!report) return report.error();
  preflight_ = std::move(*report);
  // A proxy remembers the probes: Squid, once it has reached the refused port's peer, answers a
  // later refused connect 503 instead of 502; one that did not bring back the plain probe may
  // still hold it. The suite meets a fresh instance, as a scenario rerun alone does.
  if (process_)
    if (auto again = restart_proxy(); !again) return again;
  if (auto ended = upstream_->end_preflight(); !ended) return ended.error().prefixed("after pre-flight: ");
  return {};
}

Rig::~Rig() { stop(); }

void Rig::stop() {
  if (process_) process_->stop();
  if (upstream_) upstream_->stop();
}

Result<void> Rig::restart_proxy() {
  if (!options_.profile) return problem("only a proxy upfault started can be restarted");
  process_ = std::make_unique<ProxyProcess>();
  return process_->start(*options_.profile, upstream_->ports());
}

std::uint16_t Rig::proxy_port() const { return process_ ? process_->port() : port_; }

ProxyInfo Rig::info() const {
  ProxyInfo p;
  p.name = options_.profile ? options_.profile->name : options_.proxy_name;
  p.version = version_;
  p.url = "http://" + authority(host_, proxy_port());
  return p;
}

}  // namespace upfault
