// Isolation reruns: after a suite's pass, each scenario whose verdict the proxy's state may have
// decided rather than the scenario's fault is run again alone, on a fresh instance of a proxy
// upfault started (through --proxy-url, alone on the same proxy); the isolated verdict replaces the
// pass's, and the result's note says it was rerun and why.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "upfault/runner.hpp"

namespace upfault {

/// Why a result of a suite's pass may say more about the proxy's state than about its scenario's
/// fault.
struct IsolationReason {
  enum class Kind {
    in_flight_at_death,  ///< its request was in flight when the proxy died
    refused,             ///< it came on an upstream connection serving another scenario, and was refused
    never_delivered,     ///< its scripted fault never reached the upstream, or its endpoint fault failed:
                         ///< the proxy may have answered from what an earlier scenario left (backoff)
  };
  Kind kind;
  std::string text;  ///< "its request was in flight when the proxy died (nginx killed by signal 11)"
};

/// Why `r` needs an isolated rerun, or nothing.
[[nodiscard]] std::optional<IsolationReason> isolation_reason(const ScenarioResult& r);

/// Reruns alone every result of `run` that has an isolation_reason, and puts the isolated
/// verdicts in its place. A proxy death in the pass that every isolated rerun accounted for no
/// longer stands as the run's proxy_died; what happened is said in run.isolation. Returns the
/// positions in run.results that were replaced, in order.
std::vector<std::size_t> isolate(const std::vector<Scenario>& scenarios, const SuiteOptions& options, SuiteRun& run);

}  // namespace upfault
