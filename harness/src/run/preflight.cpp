// Pre-flight (preflight.hpp): one probe per route, one at a time, each diagnosed from what the
// fake upstream saw — which port it reached, over TLS or not, in which protocol.
#include "upfault/preflight.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <condition_variable>
#include <mutex>
#include <set>

#include "base/util.hpp"
#include "upfault/client.hpp"
#include "upfault/loader.hpp"
#include "upfault/rig.hpp"
#include "upfault/tls.hpp"
#include "upfault/verdict.hpp"

namespace upfault {

namespace {

struct Probe {
  Endpoint endpoint = Endpoint::scripted;
  UpstreamProtocol protocol = UpstreamProtocol::http1;
  bool operator<(const Probe& o) const { return std::pair(endpoint, protocol) < std::pair(o.endpoint, o.protocol); }
};

std::string probe_name(const Probe& p) {
  if (p.endpoint != Endpoint::scripted) return fmt::format("upfault-preflight-{}", to_string(p.endpoint));
  return fmt::format("upfault-preflight-{}", p.protocol == UpstreamProtocol::http1 ? "plain" : to_string(p.protocol));
}

// What the route's port answers: 200 with `token`, and the connection is not to be used again
// (HTTP/1.1: `Connection: close`; HTTP/2: GOAWAY), so no probe leaves a pooled connection behind:
// a scenario sent on it would meet the probe's port, or a stream refused on a connection that is
// not its own.
Result<Scenario> probe_scenario(const Probe& p, const std::string& name, const std::string& token) {
  std::string steps;
  if (is_http2(p.protocol)) {
    steps = fmt::format(
        "[[upstream.steps]]\nh2_response = {{ status = 200, body = {} }}\n[[upstream.steps]]\nh2_goaway = {{ "
        "last_stream = \"request\" }}\n",
        toml_quote(token));
  } else {
    steps = fmt::format(
        "[[upstream.steps]]\nread = \"request\"\n[[upstream.steps]]\nresponse = {{ status = 200, headers = "
        "[\"Connection: close\"], body = {} }}\n",
        toml_quote(token));
  }
  auto s = own_scenario(name, "pre-flight probe", p.protocol, steps);
  if (!s) return s.error();
  s->endpoint = p.endpoint;
  return s;
}

std::string prefix_of(const Probe& p) {
  const auto prefix = upstream_prefix(p.endpoint, p.protocol);
  return prefix.empty() ? std::string("/__upfault/") : fmt::format("{}/", prefix);
}

std::string port_label(std::string_view port) { return port.empty() ? "plain upstream" : std::string(port); }

bool over_tls(UpstreamProtocol p) { return p == UpstreamProtocol::https || p == UpstreamProtocol::h2; }

// The address of the port a probe must reach.
std::string address_of(const FakeUpstream& up, const Probe& p) {
  const auto ports = up.ports();
  const auto* field = port_field(port_name(p.endpoint, p.protocol));
  return fmt::format("{}://{}", over_tls(p.protocol) ? "https" : "http",
                     authority(up.host(), field ? ports.*field->port : ports.scripted));
}

std::string how_to_speak(UpstreamProtocol p) {
  switch (p) {
    case UpstreamProtocol::http1: return "in plain HTTP/1.1";
    case UpstreamProtocol::https: return "over TLS (HTTP/1.1)";
    case UpstreamProtocol::h2c: return "in HTTP/2 with prior knowledge (h2c)";
    case UpstreamProtocol::h2: return "in HTTP/2 over TLS (ALPN h2)";
  }
  return "";
}

// FakeUpstream::tls_refusal once it differs from `before`, waited for: over TLS 1.3 the proxy's
// alert (or its close after the handshake) comes after upfault's side of the handshake is done, so
// it may still be on its way when the client already has the proxy's answer. The upstream's note
// ends the wait at once (on_tls_note); `bound` only limits it when none comes.
std::string refusal_after(const FakeUpstream& up, const std::string& before, Millis bound) {
  std::mutex m;
  std::condition_variable cv;
  bool noted = false;
  auto watch = up.on_tls_note([&] {
    std::lock_guard lock(m);
    noted = true;
    cv.notify_all();
  });
  const auto until = std::chrono::steady_clock::now() + bound;
  auto refusal = up.tls_refusal();
  while (refusal == before) {
    std::unique_lock lock(m);  // released before tls_refusal(), which takes the upstream's lock
    if (!cv.wait_until(lock, until, [&] { return std::exchange(noted, false); })) break;
    lock.unlock();
    refusal = up.tls_refusal();
  }
  return refusal;
}

// Global notes of the upstream, to tell which ones a probe added.
struct Notes {
  std::string tls_on_plain;
  std::string refusal;
  static Notes of(const FakeUpstream& up) { return {up.tls_misrouted(), up.tls_refusal()}; }
};

struct Failure {
  std::string text;
  bool unrouted = false;  ///< nothing routes the prefix: the proxy's default route or its own answer took it
};

// Why a probe did not come back as the 200 its port sent, from what the upstream saw.
Failure diagnose(const FakeUpstream& up, const Probe& p, const std::string& name, const ClientResult& got,
                 const Notes& before, Millis tls_note_bound) {
  const auto prefix = prefix_of(p);
  const auto want = port_name(p.endpoint, p.protocol);
  const auto fix = fmt::format("route {} to {} {}", prefix, address_of(up, p), how_to_speak(p.protocol));
  const auto log = up.log(name);
  if (!log.connections.empty()) {
    const auto& c = log.connections.back();
    if (c.port != want) {
      const bool default_route = c.port.empty() && !c.tls && !c.http2;
      return {
          fmt::format("{} reached upfault's {} port{}: {}", prefix, port_label(c.port), c.tls ? " over TLS" : "", fix),
          default_route && p.endpoint == Endpoint::scripted};
    }
    if (c.http2 != is_http2(p.protocol))
      return {fmt::format("{} reached its port in HTTP/{}: {}", prefix, c.http2 ? "2" : "1.1", fix),
              p.endpoint == Endpoint::scripted};
    return {fmt::format("{} reached its port, which answered 200, but the client got {}", prefix, describe(got))};
  }
  auto now = Notes::of(up);
  if (auto plain = up.plain_on_tls(want); !plain.empty()) return {fmt::format("{}: {}", prefix, plain)};
  if (now.tls_on_plain != before.tls_on_plain) return {fmt::format("{}: {}", prefix, now.tls_on_plain)};
  const bool tls = over_tls(p.protocol);
  if (tls) now.refusal = refusal_after(up, before.refusal, tls_note_bound);
  if (tls && now.refusal != before.refusal)
    return {
        fmt::format("{}: the proxy refused upfault's valid certificate ({}): have that route trust upfault's CA "
                    "for the name {} (`upfault routes` prints the lines)",
                    prefix, now.refusal, tls::kServerName)};
  return {fmt::format("{} did not reach upfault (the client got {}): {}{}", prefix, describe(got), fix,
                      tls ? fmt::format(", trusting upfault's CA for the name {} (the one in the --tls-dir your "
                                        "routes were printed with: give `run` the same --tls-dir)",
                                        tls::kServerName)
                          : ""),
          p.endpoint == Endpoint::scripted};
}

// The routes the run needs, the plain one first, then each protocol's, then each endpoint's.
std::vector<Probe> probes_for(const std::vector<Scenario>& scenarios, const PreflightPlan& plan) {
  std::set<Probe> wanted;
  for (const auto& s : scenarios) {
    const bool declared = std::find(plan.protocols.begin(), plan.protocols.end(), s.protocol) != plan.protocols.end();
    if (!plan.detect && !declared) continue;
    wanted.insert({Endpoint::scripted, s.protocol});
    wanted.insert({s.endpoint, s.protocol});  // the same for a scripted scenario
  }
  std::vector<Probe> out{{Endpoint::scripted, UpstreamProtocol::http1}};
  for (const auto& p : wanted)
    if (p.endpoint == Endpoint::scripted && p.protocol != UpstreamProtocol::http1) out.push_back(p);
  for (const auto& p : wanted)
    if (p.endpoint != Endpoint::scripted) out.push_back(p);
  return out;
}

ClientResult send_probe(const PreflightPlan& plan, const Scenario& s, const Probe& p) {
  FetchOptions fo;
  fo.host = plan.host;
  fo.port = plan.port;
  fo.deadline = plan.deadline;
  const auto wire =
      render_request(s.request, std::string(upstream_prefix(p.endpoint, p.protocol)) + route_prefix(s.name),
                     {{"X-Upfault-Scenario", s.name}}, authority(plan.host, plan.port));
  return fetch(fo, wire);
}

}  // namespace

Result<PreflightReport> preflight(FakeUpstream& upstream, const std::vector<Scenario>& scenarios,
                                  const PreflightPlan& plan) {
  PreflightReport report;
  std::vector<std::string> fixes;
  for (const auto& p : probes_for(scenarios, plan)) {
    // Detecting, an endpoint over TLS is probed only once TLS itself is found routed.
    if (plan.detect && p.protocol != UpstreamProtocol::http1 && p.endpoint != Endpoint::scripted &&
        std::find(report.reached.begin(), report.reached.end(), p.protocol) == report.reached.end())
      continue;
    const auto name = probe_name(p);
    const auto token = fmt::format("upfault pre-flight {} {} {}", name, ::getpid(), upstream.port());
    auto s = probe_scenario(p, name, token);
    if (!s) return s.error();
    upstream.add(*s);
    const auto before = Notes::of(upstream);
    const auto got = send_probe(plan, *s, p);
    if (got.ending == Ending::complete && got.response && got.response->status == 200 && got.response->body == token) {
      if (p.endpoint == Endpoint::scripted) report.reached.push_back(p.protocol);
      continue;
    }
    if (got.ending == Ending::connect_failed)
      return problem(fmt::format("nothing accepts connections at {} ({}): start your proxy there first ({})",
                                 plan.proxy, authority(plan.host, plan.port), got.error));
    auto failure = diagnose(upstream, p, name, got, before, plan.tls_note_bound);
    if (p.endpoint == Endpoint::scripted && p.protocol == UpstreamProtocol::http1) {
      if (!plan.plain_required) {
        report.unchecked = std::move(failure.text);
        break;
      }
      return problem(fmt::format(
          "pre-flight: the proxy at {} did not pass a request (GET /__upfault/…) to upfault's upstream: {}. Point "
          "the proxy's upstream at {} (--upstream-port) and route /__upfault/ paths there unchanged.",
          authority(plan.host, plan.port), failure.text, authority(upstream.host(), upstream.port())));
    }
    if (plan.detect && failure.unrouted && p.endpoint == Endpoint::scripted) {
      report.not_routed[p.protocol] = fmt::format("pre-flight: {}", failure.text);
      continue;
    }
    fixes.push_back(std::move(failure.text));
  }
  if (!fixes.empty())
    return problem(
        fmt::format("pre-flight: {} route(s) of the proxy at {} to fix before a run (while pre-flight lasts, "
                    "every port of upfault's answers 200, so each probe shows where its prefix goes):\n  - {}",
                    fixes.size(), authority(plan.host, plan.port), fmt::join(fixes, "\n  - ")));
  if (!plan.detect || !report.unchecked.empty()) report.reached = plan.protocols;
  return report;
}

}  // namespace upfault
