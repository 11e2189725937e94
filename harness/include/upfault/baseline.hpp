#pragma once
/// A baseline for CI: the outcomes a team accepts today (known failures), so that a run is green
/// while every scenario does what the baseline says, and red when any verdict gets worse — or
/// better, so the baseline is kept current. `upfault run --write-baseline F` records one,
/// `--baseline F` holds a run to it.
#include <map>
#include <string>
#include <vector>

#include "upfault/observed.hpp"
#include "upfault/problem.hpp"

namespace upfault {

/// The outcome of one scenario as a baseline records it: "pass", "stricter", "error", or
/// "fail: " with what the client saw ("fail: 200 complete", "fail: no status closed-early").
[[nodiscard]] std::string baseline_outcome(const ScenarioResult& r);

struct Baseline {
  std::string proxy;                           ///< who it was recorded against (shown, not enforced)
  std::map<std::string, std::string> outcome;  ///< scenario → baseline_outcome
};

/// The baseline file (JSON, schema upfault-baseline/1) for these results.
[[nodiscard]] std::string to_baseline_json(const ProxyInfo& proxy, const std::vector<ScenarioResult>& results);
/// Reads a baseline file: a missing file, bad JSON or a wrong schema is a Problem.
[[nodiscard]] Result<Baseline> load_baseline(const std::string& path);

/// A scenario whose outcome is not the baseline's.
struct BaselineChange {
  std::string scenario;
  std::string was;  ///< "" when the baseline does not list it (it must then pass)
  std::string now;
  bool better = false;  ///< now passes where the baseline had a failure
  bool worse = false;   ///< now fails (or errs) where the baseline had a pass
};
/// How a run compares with a baseline.
struct BaselineComparison {
  std::vector<BaselineChange> changes;
  int known_failures = 0;  ///< failures whose outcome is the one recorded
};
/// The changes of `results` against `baseline`. Errors always count (a setup failure is never
/// known-good); scenarios the baseline lists but the run did not include are ignored.
[[nodiscard]] BaselineComparison compare(const Baseline& baseline, const std::vector<ScenarioResult>& results);

}  // namespace upfault
