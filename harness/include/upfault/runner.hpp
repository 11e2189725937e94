#pragma once
/// Running scenarios through a proxy, in parallel, and judging each.
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "upfault/client.hpp"
#include "upfault/observed.hpp"
#include "upfault/proxy.hpp"
#include "upfault/scenario.hpp"
#include "upfault/upstream.hpp"
#include "upfault/verdict.hpp"

namespace upfault {

struct RunOptions {
  std::string proxy_host = "127.0.0.1";
  std::uint16_t proxy_port = 0;
  ProxyTimeouts timeouts;          ///< what the proxy is configured with
  unsigned jobs = 0;               ///< scenarios in flight at once; 0: all of them
  Millis default_deadline{10000};  ///< client deadline where the scenario sets no `within`
  /// --strict: a stricter-than-required verdict is a failure, in every report ("--strict: …").
  bool strict = false;
  /// The keep-alive probe (observed.hpp): a scenario's last request does not ask Connection:
  /// close, and when the proxy keeps the connection open a known-good request follows on it.
  /// Not for scenarios that read past the response or whose own request asks Connection: close.
  bool keepalive_probe = true;
  /// The upstream protocols the proxy speaks: a scenario needing another is `not run`, with
  /// `not_run_because`'s sentence for its protocol when there is one.
  std::vector<UpstreamProtocol> protocols{UpstreamProtocol::http1};
  std::map<UpstreamProtocol, std::string> not_run_because;
  /// What the proxy's profile says of a result (ScenarioResult::note), set before on_result.
  std::function<std::string(const ScenarioResult&)> annotate;
  /// Called on the runner's thread as each scenario finishes.
  std::function<void(const ScenarioResult&)> on_result;
};

/// How a run with these options judges: its proxy timeouts and --strict.
[[nodiscard]] JudgeOptions judging(const RunOptions& options);

/// Runs `scenarios` through the proxy at options.proxy_host:proxy_port, whose upstream is
/// `upstream` (already started, with every scenario added). Results are in input order; after a
/// stop signal (interrupt.hpp) only the scenarios that finished are there.
[[nodiscard]] std::vector<ScenarioResult> run_scenarios(const std::vector<Scenario>& scenarios, FakeUpstream& upstream,
                                                        const RunOptions& options);

/// A whole run: a fake upstream, the proxy (started from a profile, or reached at a URL), the scenarios.
struct SuiteOptions {
  std::optional<ProxyProfile> profile;  ///< start this proxy; without it, reach proxy_host:proxy_port
  std::string proxy_host = "127.0.0.1";
  std::uint16_t proxy_port = 0;
  std::string proxy_name = "proxy-url";  ///< what the reports call a proxy reached at an address
  EndpointPorts ports;                   ///< each 0: the kernel picks (a proxy started here is told the ports)
  bool verbose_upstream = false;
  /// Without a profile and without --upstream-protocols: run the protocols whose routes pre-flight
  /// finds (preflight.hpp); the others are `not run`, saying what pre-flight saw.
  bool detect_protocols = false;
  /// Pre-flight (preflight.hpp) before the first scenario; see RigOptions::check_routes.
  bool check_routes = true;
  /// With run.jobs == 1: when the proxy dies, mark the scenario in flight as a crash, restart
  /// the proxy and go on, so one crash does not turn the rest of the suite into errors.
  bool restart_after_crash = true;
  /// With a profile: this many instances of the proxy, each with its own fake upstream, each
  /// running its share of the scenarios one at a time (run.jobs is then 1). A proxy's upstream
  /// keep-alive pool can hand one scenario's request to a connection another scenario opened;
  /// with lanes, no two scenarios are ever in flight through the same proxy, so that cross-talk is
  /// impossible, not unlikely, and each lane runs the same scenarios in the same order every time.
  unsigned lanes = 1;
  /// After the pass, rerun alone (on a fresh proxy instance, with a profile) each scenario whose
  /// verdict the proxy's state may have decided: in flight when the proxy died, or its scripted
  /// fault never reached the upstream. The isolated verdict replaces the pass's (isolation.hpp).
  bool isolate = true;
  RunOptions run;  ///< proxy_host/proxy_port are filled in by run_suite
  /// Called once the upstream listens and the proxy is ready, before the first scenario.
  std::function<void(const ProxyInfo&, const EndpointPorts&)> on_ready;
};

struct SuiteRun {
  ProxyInfo proxy;
  std::vector<ScenarioResult> results;
  double wall_seconds = 0;
  std::string setup_error;  ///< the upstream could not listen or the proxy never became ready: nothing ran
  std::string proxy_died;   ///< the proxy exited during the run (and was not restarted): how, and its log tail
  int crashes = 0;          ///< times the proxy died and was restarted
  int interrupted = 0;      ///< the stop signal that ended the run early (results hold what finished), or 0
  std::string isolation;    ///< which scenarios were rerun alone after the pass, and why; empty if none
  /// The last lines of the error log (and output) of the proxy upfault started, as the run ended;
  /// empty for a proxy of the user's. The console shows them beside a hint that points at the proxy.
  std::string proxy_log;
};

/// Runs `scenarios` end to end and tears everything down (the proxy's whole process group).
[[nodiscard]] SuiteRun run_suite(const std::vector<Scenario>& scenarios, const SuiteOptions& options);

/// The scenarios of lane `lane` (0-based) of `lanes`: every lanes-th of the suite in its order,
/// so that slow scenarios of one category are spread over the lanes. Deterministic.
[[nodiscard]] std::vector<std::size_t> lane_of(std::size_t suite_size, unsigned lane, unsigned lanes);

/// Shard `index` of `count` (1-based): the scenarios whose position in name order is
/// index-1 modulo count. Deterministic; the union of all shards is the whole suite.
[[nodiscard]] std::vector<Scenario> shard_of(std::vector<Scenario> scenarios, unsigned index, unsigned count);

/// The client deadline for a scenario: its latest `within` bound plus a margin, else `fallback`.
[[nodiscard]] Millis client_deadline(const Scenario& s, const ProxyTimeouts& t, Millis fallback);

}  // namespace upfault
