#pragma once
/// A baseline for CI: the outcomes a team accepts today (known failures), so that a run is green
/// while every scenario does what the baseline says, and red when any verdict gets worse — or
/// better, so the baseline is kept current. `upfault run --write-baseline F` records one,
/// `--baseline F` holds a run (or `upfault merge --baseline F` merged shards) to it, and every
/// report says how each scenario stands against it.
#include <boost/json/object.hpp>

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "upfault/observed.hpp"
#include "upfault/problem.hpp"

namespace upfault {

/// The outcome of one scenario as a baseline records it: "pass", "stricter", "error", "not-run",
/// or "fail: " with what the client saw ("fail: 200 complete", "fail: no status closed-early").
[[nodiscard]] std::string baseline_outcome(const ScenarioResult& r);
/// The same outcome from a row of a JSON report (its verdict, status and ended).
[[nodiscard]] std::string baseline_outcome(const boost::json::object& row);

/// A baseline file, read.
struct Baseline {
  std::string proxy;                           ///< who it was recorded against, "name version" (shown, not enforced)
  std::string upfault;                         ///< the upfault version that recorded it ("" in an older file)
  std::optional<bool> strict;                  ///< whether it was recorded with --strict (nullopt in an older file)
  std::map<std::string, std::string> outcome;  ///< scenario → baseline_outcome; never "not-run"
};

/// The baseline file (JSON, schema upfault-baseline/1) for these results: one scenario per line,
/// sorted by name, after what it was made with (`made_with`: upfault's version, the proxy's name
/// and version, --strict). Scenarios not run are left out (nothing was judged). A Problem naming
/// them when any result is an `error`: a setup failure is never an outcome to accept.
[[nodiscard]] Result<std::string> to_baseline_json(const ProxyInfo& proxy, const std::vector<ScenarioResult>& results,
                                                   std::string_view upfault_version, bool strict);
/// Reads a baseline file (up to 4 MiB): a missing file, bad JSON, a wrong schema, a name that is
/// not a scenario name, an outcome upfault does not write, or a `made_with` field of the wrong
/// type is a Problem naming the file and what is wrong. The one-line files of older upfaults
/// read as before.
[[nodiscard]] Result<Baseline> load_baseline(const std::string& path);
/// The same from the file's text; `name` is what messages call it.
[[nodiscard]] Result<Baseline> parse_baseline(std::string_view text, std::string_view name);
/// A Problem when the baseline was recorded with --strict and the run is judged without it (or
/// the other way round): stricter verdicts would read as changes.
[[nodiscard]] Result<void> baseline_fits(const Baseline& b, std::string_view name, bool strict);

/// How one scenario stands against the baseline: `results[].baseline` in the JSON report.
enum class BaselineStatus {
  unchanged_pass,  ///< "unchanged-pass": passes (or is stricter) as recorded
  new_pass,        ///< "new": passes; the baseline does not list it
  known,           ///< "known": fails as recorded — a known failure
  fixed,           ///< "fixed": passes where the baseline records a failure (a change)
  new_failure,     ///< "new-failure": fails where the baseline records a pass or does not list it (a change)
  changed,         ///< "changed": fails otherwise than recorded, or pass ↔ stricter (a change)
  error,           ///< "error": a setup error, never known (a change)
  not_run,         ///< "not-run": not judged, and the baseline does not list it
  dropped,         ///< "dropped": the baseline records it, but it was not run (its protocol left out): a change
};
[[nodiscard]] std::string_view to_string(BaselineStatus s);
/// The status a report names; nullopt for any other word.
[[nodiscard]] std::optional<BaselineStatus> baseline_status_named(std::string_view word);
/// fixed, new-failure, changed, error, dropped: the run fails on any of them.
[[nodiscard]] bool is_change(BaselineStatus s);
/// The status of outcome `now` against `was`, the baseline's ("" when it does not list the scenario).
[[nodiscard]] BaselineStatus classify(std::string_view was, std::string_view now);

/// A scenario whose outcome is not the baseline's.
struct BaselineChange {
  std::string scenario;
  std::string was;  ///< "" when the baseline does not list it (it must then pass)
  std::string now;
  BaselineStatus status = BaselineStatus::changed;
};
/// How a run compares with a baseline.
struct BaselineComparison {
  std::vector<BaselineChange> changes;
  int known_failures = 0;  ///< failures whose outcome is the one recorded
};
/// Holds a JSON report (report.hpp, or a merged one) to `baseline`: each row gets "baseline" (its
/// BaselineStatus) and, when the baseline lists it, "baseline_recorded"; the report gets a
/// top-level "baseline" block (docs/json-report.md) from which the JUnit file and the summary
/// show known failures as known and lead with the changes. `file` is the baseline's path as
/// given. Errors always count (a setup failure is never known-good); scenarios the baseline lists
/// but the report does not hold, or did not run, are ignored. Returns the comparison.
BaselineComparison apply_baseline(boost::json::object& report, const Baseline& baseline, std::string_view file);
/// What `upfault run` and `upfault merge` print of a report held to a baseline: a line per change
/// ("baseline: new failure NAME: pass → fail: 503 complete"), a line when it was recorded against
/// another proxy version, and the count line; "" for a report without a baseline. Terminal-safe.
[[nodiscard]] std::string baseline_console(const boost::json::object& report);

}  // namespace upfault
