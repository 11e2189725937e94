#pragma once
/// The conformance matrix: every scenario against every proxy, as Markdown and as one
/// self-contained HTML page. The page is built from the proxies' results files alone
/// (results/NAME.json, one per proxy, written wherever each proxy ran), the scenarios and the
/// profiles' quirks: a matrix run writes the files and then reads them back, as `--from` does.
#include <array>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "upfault/observed.hpp"
#include "upfault/problem.hpp"

namespace upfault {

/// A proxy's documented deviation (proxies/<name>/quirks.toml): shown as known, still not a pass.
struct Quirk {
  std::vector<std::string> scenarios;  ///< the scenarios it explains: named, never "any"
  std::optional<int> status;           ///< only when the proxy answered with this status
  std::string summary;
  std::string link;   ///< the proxy's own documentation
  std::string quote;  ///< the sentence of that documentation that states the behaviour
  /// `default = true`: the proxy's default configuration does this, and `setting` changes it. The
  /// page shows such cells apart from defects, and they do not count in the ranking.
  bool configurable = false;
  std::string setting;  ///< what to set to change it (a configurable default only)
};

/// What proxies/<name>/quirks.toml says: [[quirk]] (scenarios, status, summary, link, quote,
/// default, setting). Whether a proxy answers a scenario differently from run to run is measured
/// (`--repeat N`), never written here: the loader refuses an [[unstable]] table.
struct ProxyNotes {
  std::vector<Quirk> quirks;
  /// The quirk that explains a failure of `scenario` whose final status was `status` (nullopt: no
  /// complete response), if any.
  [[nodiscard]] const Quirk* explain(const Scenario& scenario, std::optional<int> status) const;
  /// The quirk that explains a failed result, if any.
  [[nodiscard]] const Quirk* explain(const ScenarioResult& r) const;
  /// What to print beside a failed result (ScenarioResult::note): the documented deviation that
  /// explains it, with the proxy's own words and where they are; "".
  [[nodiscard]] std::string note(const ScenarioResult& r) const;
};

/// Loads proxies/<name>/quirks.toml (a missing file: no notes), or says where it is wrong.
[[nodiscard]] Result<ProxyNotes> load_quirks(const std::filesystem::path& profile_dir);

/// One proxy's column as a matrix run collects it.
struct MatrixColumn {
  ProxyInfo proxy;
  std::string skipped;                  ///< why it did not run (not installed, never ready); empty when it ran
  std::string died;                     ///< how the proxy ended when it exited during the run (a finding in itself)
  std::vector<ScenarioResult> results;  ///< with --repeat, one per scenario over every run (RepeatedRuns)
  ProxyNotes notes;
  double wall_seconds = 0;
  unsigned repeat = 1, repeat_completed = 1;  ///< --repeat N, and how many of the N runs completed
};

/// One scenario through one proxy, as its results file records it.
struct MatrixCell {
  const Scenario* scenario = nullptr;  ///< the suite's scenario of that name
  VerdictKind verdict = VerdictKind::error;
  std::string reason;
  std::optional<int> status;  ///< the final response's status, when a complete header arrived
  std::string ended;          ///< how the client's exchange ended: complete, closed-early, reset, …
  std::uint64_t bytes = 0;    ///< bytes the proxy sent
  int upstream_requests = 0;  ///< requests that reached the upstream
  std::string crash;          ///< how the proxy died while handling it; "" when it did not
  /// With repeated requests: the proxy answered an earlier one with an error of its own (a 5xx, an
  /// aborted response, none at all).
  bool earlier_error = false;
  /// With --repeat, when its outcome varied: each distinct outcome with its count (the fields
  /// above are then the worst run's: ScenarioResult::runs).
  std::vector<RunOutcome> runs;
  /// The verdict changed from run to run.
  [[nodiscard]] bool unstable() const { return verdict_varied(runs); }
  /// Runs whose verdict was `verdict`, and runs in all ("fail 2/5"); both 0 without runs.
  [[nodiscard]] std::pair<unsigned, unsigned> share() const;
};

/// One proxy's column of the page: its results file and its profile's quirks.
struct ProxyColumn {
  ProxyInfo proxy;
  std::string profile;              ///< the profile it ran with; "" for a proxy upfault did not start
  std::vector<std::string> config;  ///< the profile's config templates, relative to its directory
  std::string date;                 ///< the day it ran (YYYY-MM-DD), when the file says
  std::string skipped;              ///< why it did not run (then it has no cells)
  std::string died;                 ///< how the proxy ended when it exited during the run
  double wall_seconds = 0;
  /// The file's `repeat`: how many runs were asked for and how many completed (1 and 1 without --repeat).
  unsigned repeat = 1, repeat_completed = 1;
  std::vector<MatrixCell> cells;  ///< one per scenario of the suite, in the suite's order
  ProxyNotes notes;
  /// The profile's config templates and routes.toml as read with its quirks (name, text): where the
  /// findings page finds the line that points the proxy at the upstream. Empty without the profile.
  std::vector<std::pair<std::string, std::string>> config_text;
};

/// upfault's own reference proxy (profile "reference"): shown apart, never ranked against the others.
[[nodiscard]] bool is_reference(const ProxyColumn& column);

/// The largest results file `--from` reads.
inline constexpr std::size_t kMaxResultsFile = 16 << 20;

/// Reads one results file (schema upfault-run/1, as `upfault run --json` and `upfault matrix`
/// write it) against `suite`: every scenario of the suite exactly once and no other, each of the
/// suite's level. Anything else is a problem that names `file` and what is wrong (the scenario
/// missing, unknown or repeated, the field of the wrong type): the file is of another suite, or
/// not a results file.
[[nodiscard]] Result<ProxyColumn> parse_results(std::string_view json, const std::vector<Scenario>& suite,
                                                const std::string& file);

/// parse_results() of a file (a regular file of at most kMaxResultsFile bytes).
[[nodiscard]] Result<ProxyColumn> load_results(const std::filesystem::path& file, const std::vector<Scenario>& suite);

/// How a cell is shown.
enum class CellKind { pass, stricter, fail, known, configured, error, crash, skipped };
/// The cell's kind: a failure a quirk explains is `known`, or `configured` when the quirk is a
/// configurable default.
[[nodiscard]] CellKind cell_kind(const ProxyColumn& column, const MatrixCell& cell);

/// The scenario accepts an error answer: some accepted outcome is a 5xx (for the judged request or,
/// with earlier_status, an earlier one), an aborted response or no response (the upstream's
/// response was broken or missing).
[[nodiscard]] bool accepts_error(const Scenario& s);
/// The risk class a failed cell counts in: its scenario's `risk`, except where the proxy answered
/// with an error of its own (a 5xx, an aborted response, no response at all; or, with repeated
/// requests, answered the last one well and an earlier one with such an error) and the upstream got
/// the request no more often than the client sent it: then it passed nothing broken on, and the
/// failure counts as a wrong error where the scenario accepts an error, as lost information where
/// it does not. A crash keeps the scenario's class here (the ranking counts it as a crash:
/// Standing::crashed). nullopt: the scenario names no risk.
[[nodiscard]] std::optional<Risk> failure_risk(const MatrixCell& cell);

/// A proxy's place in the ranking: its crashes, its failures by risk class, and what does not count.
struct Standing {
  std::size_t column = 0;  ///< its index in the columns
  /// Cells where the proxy crashed, of scenarios every proxy ran: a class of their own, above desync
  /// (one upstream response took the proxy down for every client). Not counted in `failures`.
  std::vector<std::size_t> crashed;
  /// Indexes of its failed cells (crashes aside) in each class: desync, lost information, wrong
  /// error, and last those whose scenario names no risk.
  std::array<std::vector<std::size_t>, 4> failures;
  std::vector<std::size_t> configured;  ///< failures its profile documents as configurable defaults
  std::vector<std::size_t> errors;      ///< harness errors (say nothing about the proxy)
  /// Failed cells of scenarios that not every proxy that ran ran (an upstream protocol some
  /// profile lacks): shown, but not ranked, since the others had no chance to fail them.
  std::vector<std::size_t> unranked;
  /// Cells whose verdict changed over the runs (--repeat): each counted above as its worst run.
  std::vector<std::size_t> unstable;
  int passed = 0;            ///< pass or stricter
  int not_run = 0;           ///< scenarios of an upstream protocol its profile lacks: out of "passed"'s count
  int crashes = 0;           ///< every crash, ranked or not
  int shipped_passed = 0;    ///< passes among the ranked scenarios: configurable defaults count as failures
  int ranked_scenarios = 0;  ///< the scenarios every proxy ran (what shipped_passed is out of)
  bool ran = false;
  bool reference = false;  ///< upfault's own proxy: listed apart, no place in the ranking
  [[nodiscard]] std::size_t failure_count() const;
  /// The scenarios it ran (every cell but those not run), the count "passed" is out of.
  [[nodiscard]] std::size_t ran_count(const ProxyColumn& of) const;
};
/// Where a class's failures are in Standing::failures (std::nullopt: unclassified).
[[nodiscard]] std::size_t risk_index(std::optional<Risk> risk);

/// The proxies, best first: fewest crashes, then fewest desync failures, then fewest
/// lost-information, then fewest wrong-error failures (then unclassified ones); ties by
/// configurable defaults, then by name. Configurable defaults and harness errors do not count; the
/// reference proxy comes after every ranked one, and a proxy that did not run comes last.
[[nodiscard]] std::vector<Standing> rank(const std::vector<ProxyColumn>& columns);

/// A link to the RFC section a scenario cites ("RFC 9110 §15.6.3" → rfc-editor.org), or "".
[[nodiscard]] std::string rfc_link(const std::string& rfc);

/// docs/conformance/README.md: the ranking first, then the matrix and each failure's reason.
[[nodiscard]] std::string matrix_markdown(const std::vector<Scenario>& scenarios,
                                          const std::vector<ProxyColumn>& columns, const std::string& date);
/// docs/conformance/FINDINGS.md: every crash and every desync-class failure, per proxy, each with
/// what happened and how to reproduce it with `upfault serve`, the profile's config line and curl.
[[nodiscard]] std::string matrix_findings(const std::vector<Scenario>& scenarios,
                                          const std::vector<ProxyColumn>& columns, const std::string& date);
/// docs/conformance/index.html: one self-contained file (no external asset, works offline): the
/// ranking first, a failures-only filter and a search box, details on demand.
[[nodiscard]] std::string matrix_html(const std::vector<Scenario>& scenarios, const std::vector<ProxyColumn>& columns,
                                      const std::string& date);

}  // namespace upfault
