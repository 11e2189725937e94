#include "upfault/verdict.hpp"

#include <algorithm>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <map>

#include "upfault/http.hpp"
#include "pattern.hpp"
#include "util.hpp"

namespace upfault {


namespace {

std::string body_note(const std::string& body, std::uint64_t total) {
  if (total == 0) return "empty body";
  return fmt::format("body {} bytes: \"{}\"", total, printable(body, 60));
}

// Hop-by-hop and framing fields, which a proxy rewrites legitimately, and the ones proxies
// commonly set themselves (Date, Server): not compared in a passthrough.
bool compared_in_passthrough(std::string_view name) {
  for (auto skip : {"connection", "keep-alive", "proxy-connection", "transfer-encoding", "content-length", "te",
                    "trailer", "upgrade", "date", "server"})
    if (iequals(name, skip)) return false;
  return true;
}

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::map<std::string, std::vector<std::string>> end_to_end(const std::vector<Header>& headers) {
  std::map<std::string, std::vector<std::string>> out;
  for (const auto& [n, v] : headers)
    if (compared_in_passthrough(n)) out[lower(n)].push_back(v);
  return out;
}

// The client's body is exactly `want`: compared by bytes within the kept prefix, by size and
// SHA-1 beyond it.
bool body_is(const ClientResult& c, std::string_view want) {
  if (c.body_size != want.size()) return false;
  if (want.size() <= kBodyKeep) return c.response->body == want;
  return c.body_digest == body_digest(want);
}

// Why `client` does not show outcome `o`, or nullopt when it does.
std::optional<std::string> mismatch(const Outcome& o, const Scenario& s, const ClientResult& c,
                                    const UpstreamLog& up, const ProxyTimeouts& t) {
  if (o.aborted && c.ending != Ending::closed_early && c.ending != Ending::reset)
    return c.ending == Ending::timed_out ? "the proxy neither completed the response nor closed the connection"
                                         : "the response was not aborted";
  const bool checks_response = !o.status.empty() || o.passthrough || !o.header_present.empty() ||
                               !o.header_absent.empty() || !o.header_equals.empty() || !o.header_matches.empty() ||
                               o.body || o.interim;
  if (checks_response && c.ending != Ending::complete) return "no complete response";
  if (!o.status.empty() && std::find(o.status.begin(), o.status.end(), c.response->status) == o.status.end())
    return fmt::format("status {}", c.response->status);
  if (o.passthrough) {
    const auto& sent = *s.upstream_response;
    if (c.response->status != sent.status)
      return fmt::format("the upstream sent {}, not {}", sent.status, c.response->status);
    if (!body_is(c, sent.body))
      return fmt::format("the body differs from the upstream's {} bytes", sent.body.size());
    auto want = end_to_end(sent.headers);
    auto got = end_to_end(c.response->headers);
    for (const auto& [name, values] : want)
      if (got[name] != values)
        return fmt::format("header {} is {} where the upstream sent \"{}\"", name,
                           got[name].empty() ? "missing" : "\"" + printable(fmt::format("{}", fmt::join(got[name], ", "))) + "\"",
                           printable(fmt::format("{}", fmt::join(values, ", "))));
  }
  auto values = [&](std::string_view name) {
    std::vector<std::string> out;
    for (const auto& [n, v] : c.response->headers)
      if (iequals(n, name)) out.push_back(v);
    return out;
  };
  for (const auto& name : o.header_present)
    if (values(name).empty()) return fmt::format("header {} is missing", name);
  for (const auto& name : o.header_absent)
    if (auto v = values(name); !v.empty())
      return fmt::format("header {} is present (\"{}\")", name, printable(fmt::format("{}", fmt::join(v, ", "))));
  for (const auto& [name, want] : o.header_equals) {
    auto v = values(name);
    auto got = fmt::format("{}", fmt::join(v, ", "));
    if (v.empty()) return fmt::format("header {} is missing", name);
    if (got != want) return fmt::format("header {} is \"{}\", not \"{}\"", name, printable(got), printable(want));
  }
  for (const auto& [name, pattern] : o.header_matches) {
    auto v = values(name);
    auto got = fmt::format("{}", fmt::join(v, ", "));
    if (v.empty()) return fmt::format("header {} is missing", name);
    std::string error;
    auto re = Pattern::compile(pattern, error);
    if (!re) return fmt::format("headers_match: /{}/ cannot be used: {}", printable(pattern, 80), error);
    if (!re->full_match(got))
      return fmt::format("header {} is \"{}\", which does not match /{}/", name, printable(got), printable(pattern, 200));
  }
  if (o.body && !body_is(c, *o.body))
    return fmt::format("the body is not \"{}\"", printable(*o.body, 40));
  if (o.interim && c.interim != *o.interim)
    return c.interim.empty() ? fmt::format("no interim response arrived (wanted {})", fmt::join(*o.interim, ", "))
                             : fmt::format("interim responses were {}", fmt::join(c.interim, ", "));
  if (o.upstream_requests && up.requests() != *o.upstream_requests)
    return fmt::format("{} request{} reached the upstream, not {}", up.requests(), up.requests() == 1 ? "" : "s",
                       *o.upstream_requests);
  if (o.within && c.elapsed > o.within->resolve(t))
    return fmt::format("it ended after {}, later than within = \"{}\" ({})", format_millis(c.elapsed),
                       o.within->text(), format_millis(o.within->resolve(t)));
  if (o.not_before && c.elapsed < o.not_before->resolve(t))
    return fmt::format("it ended after {}, sooner than not_before = \"{}\" ({})", format_millis(c.elapsed),
                       o.not_before->text(), format_millis(o.not_before->resolve(t)));
  return std::nullopt;
}

// For outcomes with a timing bound: how the time compares with the proxy's read timeout,
// so a late (but accepted) timeout is visible.
std::string timing_note(const Outcome& o, const ClientResult& c, const ProxyTimeouts& t) {
  if ((!o.within && !o.not_before) || t.read.count() <= 0) return "";
  return fmt::format(" [{:.2f} × read_timeout]", static_cast<double>(c.elapsed.count()) / static_cast<double>(t.read.count()));
}

std::string expected_text(const std::vector<Outcome>& outcomes) {
  std::string out;
  for (std::size_t i = 0; i < outcomes.size(); ++i) {
    if (i) out += " or ";
    out += outcomes[i].describe();
  }
  return out;
}

std::string upstream_note(const UpstreamLog& up) {
  if (up.connections.empty()) return "the request never reached the upstream";
  for (const auto& c : up.connections)
    if (c.end == ConnectionEnd::after_close)
      return "the proxy sent the request on a connection the upstream had already closed (" + c.ended + ")";
  return fmt::format("the upstream saw {} request(s) on {} connection(s)", up.requests(), up.connections.size());
}

}  // namespace

std::string describe(const ClientResult& c) {
  const auto at = format_millis(c.elapsed);
  switch (c.ending) {
    case Ending::complete:
      return fmt::format("{} after {} ({})", c.response->status, at,
                         body_note(c.response->body, c.body_size));
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

Verdict evaluate(const Scenario& s, const ClientResult& c, const UpstreamLog& up, const ProxyTimeouts& t) {
  if (c.ending == Ending::connect_failed) return {VerdictKind::error, "could not reach the proxy: " + c.error};
  std::vector<std::string> misses;
  for (const auto& o : s.expect.accept) {
    auto miss = mismatch(o, s, c, up, t);
    if (!miss) return {VerdictKind::pass, describe(c) + timing_note(o, c, t)};
    misses.push_back(*miss);
  }
  for (const auto& o : s.expect.stricter)
    if (!mismatch(o, s, c, up, t))
      return {VerdictKind::stricter, fmt::format("{}: stricter than required (the RFC also allows {})", describe(c),
                                                 expected_text(s.expect.accept))};
  std::string reason = fmt::format("expected {}, got {}", expected_text(s.expect.accept), describe(c));
  // Add the specific misses that say more than the status line does.
  std::vector<std::string> details;
  for (const auto& m : misses)
    if (m.rfind("status ", 0) != 0 && m != "no complete response") details.push_back(m);
  if (!details.empty()) reason += fmt::format(" — {}", fmt::join(details, "; "));
  reason += fmt::format("; {}", upstream_note(up));
  return {VerdictKind::fail, reason};
}

}  // namespace upfault
