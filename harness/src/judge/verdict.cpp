#include "upfault/verdict.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <algorithm>
#include <optional>

#include "base/util.hpp"
#include "upfault/http.hpp"
#include "upfault/tls.hpp"

namespace upfault {

namespace {

std::string body_note(const std::string& body, std::uint64_t total) {
  if (total == 0) return "empty body";
  return fmt::format("body {} bytes: \"{}\"", total, printable(body, 60));
}

// Why `seen` does not show outcome `o`, or nullopt when it does: the first check that fails, in
// the registry's order. Checks of the response need a complete one.
std::optional<Miss> mismatch(const Outcome& o, const Observation& seen) {
  for (const auto& check : o.checks) {
    if (check->needs_response() && seen.client.ending != Ending::complete) return Miss{"no complete response", false};
    if (auto miss = check->mismatch(seen)) return miss;
  }
  return std::nullopt;
}

// For outcomes with a timing bound: how the time compares with the proxy's read timeout,
// so a late (but accepted) timeout is visible.
std::string timing_note(const Outcome& o, const ClientResult& c, const ProxyTimeouts& t) {
  const bool timed = std::any_of(o.checks.begin(), o.checks.end(), [](const auto& check) { return check->timed(); });
  if (!timed || t.read.count() <= 0) return "";
  return fmt::format(" [{:.2f} × read_timeout]",
                     static_cast<double>(c.elapsed.count()) / static_cast<double>(t.read.count()));
}

std::string expected_text(const std::vector<Outcome>& outcomes) {
  std::string out;
  for (std::size_t i = 0; i < outcomes.size(); ++i) {
    if (i) out += " or ";
    out += outcomes[i].describe();
  }
  return out;
}

// A setup mistake — the request reached the wrong place — is an error, never a verdict about the
// proxy: an endpoint scenario's request at the scripted upstream, or a request upfault's upstream
// could not route to any scenario (it answers those with X-Upfault-Setup).
std::optional<std::string> setup_problem(const Scenario& s, const ClientResult& c, const UpstreamLog& up) {
  for (const auto& conn : up.connections) {
    if (conn.end != ConnectionEnd::misrouted) continue;
    if (conn.ended.rfind("protocol:", 0) == 0) return fmt::format("setup: {}", conn.ended);  // HTTP/2 vs HTTP/1.1
    const auto port = port_name(s.endpoint, s.protocol);
    std::string option = port.empty() ? std::string("upstream") : std::string(port);
    std::string var = option;
    std::replace(var.begin(), var.end(), '-', '_');
    return fmt::format(
        "setup: {}: the proxy's configuration must route {}/ to the {} port ({{{}_port}} in a profile's "
        "template, --{}-port with --proxy-url; `upfault routes PROXY --upstream-port P` prints the lines)",
        conn.ended, upstream_prefix(s.endpoint, s.protocol), port.empty() ? "scripted" : port, var, option);
  }
  if (c.response && has_field(c.response->headers, "x-upfault-setup"))
    return "setup: the request reached upfault's upstream without the scenario's route, so no script ran: the "
           "proxy must keep /__upfault/NAME in the path it forwards (or pass the X-Upfault-Scenario header)";
  return std::nullopt;
}

// The upstream refused a request because the proxy broke HTTP/2 sending it (the entry's `ended`
// says how): its script never ran, so what the client saw does not answer the scenario.
std::optional<std::string> protocol_problem(const UpstreamLog& up) {
  for (const auto& conn : up.connections)
    if (conn.end == ConnectionEnd::protocol_error) return conn.ended;
  return std::nullopt;
}

// The upstream refused the request's HTTP/2 stream (it serves one per connection) and the proxy
// did not retry it: the scenario was not tested. Nullopt when a request was served.
std::optional<std::string> refused_only(const UpstreamLog& up) {
  if (!refused_untested(up)) return std::nullopt;
  const auto refused = std::count_if(up.connections.begin(), up.connections.end(),
                                     [](const auto& conn) { return conn.end == ConnectionEnd::refused_stream; });
  for (const auto& conn : up.connections)
    if (conn.end == ConnectionEnd::refused_stream)
      return fmt::format(
          "the upstream never served the request: {}; {}, so the scenario was not tested", conn.ended,
          refused == 1 ? std::string("the proxy did not retry it")
                       : fmt::format("the proxy retried it, but each of its {} attempts came on a connection already "
                                     "serving another scenario",
                                     refused));
  return std::nullopt;
}

// A verdict about how the proxy handles the upstream's answer needs the upstream to have been
// asked. True when it was, or when the outcome itself counts upstream requests.
bool asked_upstream(const Scenario& s, const Outcome& o, const UpstreamLog& up) {
  if (s.endpoint != Endpoint::scripted || up.requests() > 0) return true;  // a certificate endpoint: refusing is right
  return std::any_of(o.checks.begin(), o.checks.end(), [](const auto& c) { return c->counts_upstream_requests(); });
}

// With repeated requests: what the client saw before the judged response.
std::string client_note(const ClientResult& c) {
  if (c.earlier.empty()) return "";
  std::vector<std::string> seen;
  for (const auto& e : c.earlier) {
    seen.push_back(e.ending == Ending::complete ? fmt::format("{:03}", e.response->status)
                                                : std::string(to_string(e.ending)));
    if (e.after_total > 0) seen.back() += fmt::format(" followed by {} bytes sent unasked", e.after_total);
  }
  return fmt::format("the client sent {} requests on {} connection(s), the earlier answered {}; ", c.requests,
                     c.connections, fmt::join(seen, ", "));
}

std::string upstream_note(const UpstreamLog& up) {
  if (up.connections.empty()) return "the request never reached the upstream";
  for (const auto& c : up.connections)
    if (c.end == ConnectionEnd::after_close)
      return "the proxy sent the request on a connection the upstream had already closed (" + c.ended + ")";
  return fmt::format("the upstream saw {} request(s) on {} connection(s)", up.requests(), up.connection_count());
}

}  // namespace

std::string describe(const ClientResult& c) {
  const auto at = format_millis(c.elapsed);
  switch (c.ending) {
    case Ending::complete:
      return fmt::format("{:03} after {} ({})", c.response->status, at, body_note(c.response->body, c.body_size));
    case Ending::connect_failed: return c.error;
    case Ending::invalid:
      return fmt::format("an invalid response after {} ({}): {} bytes \"{}\"", at, c.error, c.raw_total,
                         printable(c.raw, 60));
    case Ending::closed_early:
    case Ending::reset:
    case Ending::timed_out: break;
  }
  std::string what = c.ending == Ending::closed_early ? "closed the connection"
                     : c.ending == Ending::reset      ? "reset the connection"
                                                      : "had not finished";
  if (c.header_complete)
    return fmt::format("a {} header, then the proxy {} after {} with {} body bytes", c.response->status, what, at,
                       c.body_size);
  if (!c.interim.empty())
    return fmt::format("interim {}, then no final response: the proxy {} after {} ({} bytes: \"{}\")",
                       fmt::join(c.interim, ", "), what, at, c.raw_total, printable(c.raw, 60));
  if (c.raw_total > 0)
    return fmt::format("{} bytes with no complete header (\"{}\"), then the proxy {} after {}", c.raw_total,
                       printable(c.raw, 60), what, at);
  if (c.ending == Ending::timed_out) return fmt::format("no response at all within {}", at);
  return fmt::format("no response: the proxy {} after {}", what, at);
}

namespace {

// The verdict on the exchange itself: how the proxy handled the upstream's fault.
Verdict judge_exchange(const Scenario& s, const ClientResult& c, const UpstreamLog& up, const ProxyTimeouts& t) {
  if (c.ending == Ending::connect_failed) return {VerdictKind::error, "could not reach the proxy: " + c.error};
  if (auto problem = setup_problem(s, c, up)) return {VerdictKind::error, *problem};
  if (auto broke = protocol_problem(up))
    return {VerdictKind::fail,
            fmt::format("{}, but the proxy broke the protocol towards the upstream: {}", describe(c), *broke)};
  if (auto refused = refused_only(up)) return {VerdictKind::error, fmt::format("{}, but {}", describe(c), *refused)};
  const Observation seen{s, c, up, t};
  const std::string never_asked = fmt::format(
      "{}, but the proxy never sent the request to the upstream, so how it handles the upstream's response was not "
      "tested",
      describe(c));
  std::vector<Miss> misses;
  for (const auto& o : s.expect.accept) {
    auto miss = mismatch(o, seen);
    if (!miss && !asked_upstream(s, o, up)) return {VerdictKind::fail, never_asked};
    if (!miss) return {VerdictKind::pass, describe(c) + timing_note(o, c, t)};
    misses.push_back(*miss);
  }
  for (const auto& o : s.expect.stricter)
    if (!mismatch(o, seen) && asked_upstream(s, o, up))
      return {VerdictKind::stricter, fmt::format("{}: stricter than required (the RFC also allows {})", describe(c),
                                                 expected_text(s.expect.accept))};
  std::string reason = fmt::format("expected {}, got {}", expected_text(s.expect.accept), describe(c));
  // Add the specific misses that say more than the status line does.
  std::vector<std::string> details;
  for (const auto& m : misses)
    if (m.detail) details.push_back(m.text);
  if (!details.empty()) reason += fmt::format(" — {}", fmt::join(details, "; "));
  reason += fmt::format("; {}{}", client_note(c), upstream_note(up));
  return {VerdictKind::fail, reason};
}

// A setup fact the upstream noted that explains a TLS scenario's failure, as an error; or nothing.
std::optional<Verdict> tls_setup_error(const SetupNotes& notes) {
  if (!notes.tls_on_plain.empty()) return Verdict{VerdictKind::error, "setup: " + notes.tls_on_plain};
  if (!notes.tls_refusal.empty())
    return Verdict{VerdictKind::error,
                   fmt::format("setup: the proxy refused upfault's valid TLS certificate ({}): make it trust the CA "
                               "({{ca_file}} in a profile, --tls-dir DIR/ca.pem with --proxy-url) and verify the name "
                               "{} or 127.0.0.1",
                               notes.tls_refusal, tls::kServerName)};
  return std::nullopt;
}

}  // namespace

bool refused_untested(const UpstreamLog& up) {
  return up.requests() == 0 && std::any_of(up.connections.begin(), up.connections.end(),
                                           [](const auto& conn) { return conn.end == ConnectionEnd::refused_stream; });
}

namespace {
// The first of the scenario's requests refused on a connection serving another scenario, or null.
const ConnectionLog* first_refused_elsewhere(const UpstreamLog& up) {
  const auto it = std::find_if(up.connections.begin(), up.connections.end(), [](const auto& conn) {
    return conn.end == ConnectionEnd::refused_stream && conn.reused;
  });
  return it == up.connections.end() ? nullptr : &*it;
}
}  // namespace

bool refused_elsewhere(const UpstreamLog& up) { return first_refused_elsewhere(up) != nullptr; }

bool tls_setup_may_explain(const Scenario& s, const ScenarioResult& e) {
  return s.endpoint == Endpoint::scripted && e.upstream.requests() == 0 &&
         (s.protocol == UpstreamProtocol::https || s.protocol == UpstreamProtocol::h2);
}

namespace {

// The keep-alive probe's answer, when it shows the connection poisoned: the scenario's response
// left bytes behind, or the proxy answered the next request with something else (RFC 9112 §9.3:
// responses on a connection answer its requests in order). A connection the proxy closed before
// a byte of the probe's answer says nothing.
std::optional<std::string> desync_in_probe(const ClientResult& c) {
  if (c.probe.empty()) return std::nullopt;
  const auto& p = c.probe.front();
  if (p.raw_total == 0 && (p.ending == Ending::closed_early || p.ending == Ending::reset)) return std::nullopt;
  // upfault's own upstream saying the probe came to the wrong port (X-Upfault-Setup): a proxy that
  // ties the client connection to the scenario's upstream connection (a blind relay) sent it
  // there. That is about routing, not a response left behind.
  const bool setup_answer =
      p.ending == Ending::complete && p.response && has_field(p.response->headers, "x-upfault-setup");
  if (setup_answer && c.after_total == 0) return std::nullopt;
  if (p.ending == Ending::complete && p.response && p.response->status == 200 &&
      p.response->body == kKeepAliveProbeBody && c.after_total == 0)
    return std::nullopt;
  std::string text = fmt::format(
      "desync: the proxy kept the client connection open after the response, and the next request on it "
      "(upfault's keep-alive probe, a known-good 200) got {}",
      describe(p));
  if (c.after_total > 0)
    text += fmt::format("; {} bytes were already waiting on the connection before it was sent: \"{}\"", c.after_total,
                        printable(c.after, 120));
  else if (p.raw_total > 0 && p.ending != Ending::complete)
    text += fmt::format(": \"{}\"", printable(p.raw, 120));
  return text;
}

}  // namespace

Verdict evaluate(const Scenario& s, const ScenarioResult& e, const JudgeOptions& o) {
  if (!e.proxy_crash.empty())
    return {VerdictKind::fail,
            fmt::format("the proxy crashed while handling this scenario ({}); {}", e.proxy_crash, describe(e.client))};
  // Plain HTTP reached the scenario's TLS port: its TLS fault never reached the proxy as written,
  // so neither a pass nor a failure says anything about it.
  if (!e.setup.plain_on_tls.empty())
    return {VerdictKind::error,
            fmt::format("setup: {} (the proxy answered: {})", e.setup.plain_on_tls, describe(e.client))};
  Verdict v = judge_exchange(s, e.client, e.upstream, o.timeouts);
  // Served once, then a later request of its (the proxy's retry) refused on a connection serving
  // another scenario: a real origin would have served it, so what followed is upfault's doing.
  if (const auto* refused = first_refused_elsewhere(e.upstream);
      refused && v.kind == VerdictKind::fail && e.upstream.requests() > 0)
    return {VerdictKind::error,
            fmt::format("{}, but a later request of this scenario (the proxy's retry) was not served: {}; a real "
                        "origin would have served it, so the outcome says nothing about the scenario's fault "
                        "(was: {})",
                        describe(e.client), refused->ended, v.reason)};
  if (v.kind == VerdictKind::fail && tls_setup_may_explain(s, e))
    if (auto setup = tls_setup_error(e.setup)) v = std::move(*setup);
  if (!e.proxy_died.empty() && e.client.ending != Ending::complete)
    return {VerdictKind::error,
            fmt::format("the proxy died during the run ({}) and this exchange got no complete response, which its "
                        "death may explain (was: {}); rerun with -j 1 or --lanes N to pin the crash on its scenario",
                        e.proxy_died, v.reason)};
  if (auto desync = desync_in_probe(e.client)) {
    if (v.kind == VerdictKind::pass || v.kind == VerdictKind::stricter)
      v = {VerdictKind::fail, fmt::format("{}; but {}", v.reason, *desync)};
    else if (v.kind == VerdictKind::fail)
      v.reason += "; also " + *desync;
  }
  if (o.strict && v.kind == VerdictKind::stricter)
    return {VerdictKind::fail, fmt::format("{}: stricter than required, which --strict counts as a failure", v.reason)};
  return v;
}

Verdict evaluate(const Scenario& s, const ClientResult& c, const UpstreamLog& up, const ProxyTimeouts& t) {
  return judge_exchange(s, c, up, t);
}

}  // namespace upfault
