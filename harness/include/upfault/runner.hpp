#pragma once
/// Running scenarios through a proxy, in parallel, and judging each.
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "upfault/client.hpp"
#include "upfault/scenario.hpp"
#include "upfault/upstream.hpp"
#include "upfault/verdict.hpp"

namespace upfault {

/// The outcome of one scenario.
struct ScenarioResult {
  const Scenario* scenario = nullptr;
  Verdict verdict;
  ClientResult client;
  UpstreamLog upstream;
};

struct RunOptions {
  std::string proxy_host = "127.0.0.1";
  std::uint16_t proxy_port = 0;
  ProxyTimeouts timeouts;     ///< what the proxy is configured with
  unsigned jobs = 0;          ///< scenarios in flight at once; 0: all of them
  Millis default_deadline{10000};  ///< client deadline where the scenario sets no `within`
  /// Called on the runner's thread as each scenario finishes.
  std::function<void(const ScenarioResult&)> on_result;
};

/// Runs `scenarios` through the proxy at options.proxy_host:proxy_port, whose upstream is
/// `upstream` (already started, with every scenario added). Results are in input order.
[[nodiscard]] std::vector<ScenarioResult> run_scenarios(const std::vector<Scenario>& scenarios,
                                                        FakeUpstream& upstream, const RunOptions& options);

/// The client deadline for a scenario: its latest `within` bound plus a margin, else `fallback`.
[[nodiscard]] Millis client_deadline(const Scenario& s, const ProxyTimeouts& t, Millis fallback);

}  // namespace upfault
