#pragma once
// Pre-flight: before the first scenario, one request through each route the run needs — the
// plain upstream, each upstream protocol's prefix (/__tls/, /__h2c/, /__h2/) and each endpoint's
// (/__refused/, /__blackhole/, …, /__tls_expired/) — while every port of the fake upstream answers
// it with a 200 (FakeUpstream::Options::preflight). So a missing or misrouted prefix is named at
// once, with the line to fix, instead of turning its scenarios into errors or false verdicts; and
// a TLS route's trust in upfault's CA is proven on each certificate port with the valid
// certificate, so a 502 to the expired one means the proxy checked it.
//
// The probes go one at a time, so each arrival belongs to one prefix; each answer asks
// `Connection: close` and closes, so no probe leaves a pooled connection behind.
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "upfault/duration.hpp"
#include "upfault/problem.hpp"
#include "upfault/scenario.hpp"
#include "upfault/upstream.hpp"

namespace upfault {

struct PreflightPlan {
  std::string proxy = "--proxy-url";  ///< what the messages call the proxy: the option, or its profile's name
  std::string host = "127.0.0.1";
  std::uint16_t port = 0;
  Millis deadline{10'000};       ///< for each probe's answer
  Millis tls_note_bound{3'000};  ///< how long a failed TLS probe waits for the proxy's refusal to arrive
  std::vector<UpstreamProtocol> protocols{UpstreamProtocol::http1};  ///< what the run declares
  /// --proxy-url without --upstream-protocols: every protocol the scenarios use is probed, and
  /// those whose prefix is not routed at all are left out (PreflightReport::not_routed).
  bool detect = false;
  /// Whether a proxy that passes not even the plain probe is a setup error (--proxy-url: the
  /// address or the upstream port is wrong). A proxy upfault started from a profile, whose config
  /// is rendered with the right ports, is then left to its scenarios' verdicts, routes unchecked.
  bool plain_required = true;
};

struct PreflightReport {
  std::vector<UpstreamProtocol> reached;               ///< protocols whose routes answered
  std::map<UpstreamProtocol, std::string> not_routed;  ///< with `detect`: why each other one is not run
  std::string unchecked;  ///< why the routes were not checked (the plain probe failed, not required)
};

/// One probe scenario per route `scenarios` need is added to `upstream` (in pre-flight since
/// start()) and sent through the proxy. On success the caller ends pre-flight
/// (FakeUpstream::end_preflight), once it has stopped a proxy it started. Otherwise every route
/// that failed, in one message, each with what to fix.
[[nodiscard]] Result<PreflightReport> preflight(FakeUpstream& upstream, const std::vector<Scenario>& scenarios,
                                                const PreflightPlan& plan);

}  // namespace upfault
