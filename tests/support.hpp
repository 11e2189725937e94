#pragma once
#include <ostream>
// Helpers for tests: scenarios from TOML text, a started fake upstream.
#include <gtest/gtest.h>

#include "upfault/client.hpp"
#include "upfault/http.hpp"
#include "upfault/loader.hpp"
#include "upfault/upstream.hpp"

namespace upfault::test {

/// Loads one scenario from TOML; fails the test on any load error.
inline Scenario scenario(const std::string& toml, const std::string& category = "test") {
  auto r = load_scenario_text(toml, "inline.toml", category);
  for (const auto& e : r.errors) ADD_FAILURE() << e.str();
  if (r.scenarios.size() != 1) throw std::runtime_error("scenario did not load");
  return r.scenarios.front();
}

/// The load errors of a TOML text, as "file:line:col: error: …" strings.
inline std::vector<std::string> errors_of(const std::string& toml) {
  std::vector<std::string> out;
  for (const auto& e : load_scenario_text(toml, "bad.toml").errors) out.push_back(e.str());
  return out;
}

/// A minimal scenario around the given steps (TOML [[upstream.steps]] blocks).
inline std::string with_steps(const std::string& name, const std::string& steps,
                              const std::string& expect = "[expect]\nstatus = 502\n") {
  return "name = \"" + name + "\"\nsummary = \"s\"\nrfc = \"RFC 9110\"\nlevel = \"must\"\n" + steps + "\n" + expect;
}

/// What the client saw when a complete response arrived: status, body, headers, after `elapsed`.
inline ClientResult complete(int status, std::string body = "", std::vector<Header> headers = {},
                             Millis elapsed = Millis{3}) {
  ClientResult c;
  c.ending = Ending::complete;
  c.header_complete = true;
  c.body_size = body.size();
  c.body_digest = body_digest(body);
  c.response = ResponseImage{status, "", std::move(headers), std::move(body)};
  c.elapsed = elapsed;
  return c;
}

/// What the client saw when the exchange ended as `e` with nothing received.
inline ClientResult ended(Ending e, Millis elapsed = Millis{5}) {
  ClientResult c;
  c.ending = e;
  c.elapsed = elapsed;
  return c;
}

/// What the upstream saw when the proxy asked it once: one connection, one request.
inline UpstreamLog asked(int requests = 1) {
  UpstreamLog up;
  for (int i = 0; i < requests; ++i) {
    up.connections.emplace_back();
    up.connections.back().requests = 1;
    up.connections.back().connection = static_cast<std::uint64_t>(i) + 1;
  }
  return up;
}

/// A header, then the connection closed mid-body: what an aborted response looks like.
inline ClientResult cut_after_header(Ending e = Ending::closed_early) {
  auto c = complete(200, "hel");
  c.ending = e;
  return c;
}

/// A started fake upstream serving `scenarios`.
struct Upstream {
  explicit Upstream(const std::vector<Scenario>& scenarios, ProxyTimeouts t = {}) : up(make(t)) {
    for (const auto& s : scenarios) up.add(s);
    up.start();
  }
  static FakeUpstream::Options make(ProxyTimeouts t) {
    FakeUpstream::Options o;
    o.timeouts = t;
    return o;
  }
  /// Sends the scenario's request straight to the upstream (no proxy) and records the answer.
  ClientResult fetch(const Scenario& s, Millis deadline = Millis{5000}) {
    FetchOptions fo;
    fo.port = up.port();
    fo.deadline = deadline;
    return upfault::fetch(fo, render_request(s.request, route_prefix(s.name), {}, "127.0.0.1"));
  }
  FakeUpstream up;
};

}  // namespace upfault::test

namespace upfault {
// gtest prints these as words, not "4-byte object <02-00 00-00>".
inline void PrintTo(VerdictKind k, std::ostream* os) { *os << to_string(k); }
inline void PrintTo(Ending e, std::ostream* os) { *os << to_string(e); }
}  // namespace upfault
