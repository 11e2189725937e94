#pragma once
/// Reporting results: console lines, the JSON report.
#include <boost/json/array.hpp>
#include <boost/json/object.hpp>

#include <cstdio>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "upfault/duration.hpp"
#include "upfault/observed.hpp"
#include "upfault/problem.hpp"

namespace upfault {

/// Counts of each verdict class.
struct Tally {
  int pass = 0, stricter = 0, fail = 0, error = 0;
  int not_run = 0;   ///< not in total(): nothing was judged
  int unstable = 0;  ///< with --repeat: results whose verdict changed from run to run (counted above too)
  void add(VerdictKind k);
  void add(std::string_view verdict);            ///< a report's "verdict" string
  void add(const ScenarioResult& r);             ///< its verdict, and whether it was unstable
  void add_row(const boost::json::object& row);  ///< a report's result row: "verdict" and "unstable"
  [[nodiscard]] int total() const { return pass + stricter + fail + error; }
  /// "N passed, N failed" (stricter counts as passed, error as failed).
  [[nodiscard]] std::string line() const;
};

/// The verdict as the console shows it, padded to 8 columns ("PASS    ", "UNSTABLE"), coloured
/// when `colour`; "KNOWN" for a failure a baseline records (`known`).
[[nodiscard]] std::string verdict_label(const ScenarioResult& r, bool colour, bool known = false);

/// `r`'s reason with its scenario's name replaced by "*": reasons alike but for the name compare
/// equal (one setup error repeated over many scenarios).
[[nodiscard]] std::string reason_without_name(const ScenarioResult& r);

/// What `upfault run` prints of a result: its line (the verdict, coloured when `colour`, the
/// scenario, its level, its time), then on failures (or when `verbose`) the verdict's reason and
/// the profile's note, each on a line of its own. upfault::gtest fails a test with the same text.
/// `known`: a failure the run's baseline records, labelled KNOWN.
[[nodiscard]] std::string format_result(const ScenarioResult& r, bool colour, bool verbose, bool known = false);
/// format_result() written to `out`.
void print_result(std::FILE* out, const ScenarioResult& r, bool colour, bool verbose, bool known = false);

/// What the console prints after the results (console_recap.cpp), each part only when it has
/// something: the scenarios not run, one line per reason with their count and categories; hints
/// where the evidence points at the run's setup rather than the proxy (setup_hints); with
/// `failures`, every fail and error again, one line each, so the last screen says what is red.
[[nodiscard]] std::string console_recap(const std::vector<ScenarioResult>& results, const ProxyTimeouts& declared,
                                        bool failures, bool colour, const std::string& proxy_log = {});

/// Hints from the evidence that the run's setup, not the proxy's handling of the fault, decided
/// some outcomes: 504s after a time far from the declared timeouts (the proxy's own timeout is
/// another; the timing scenarios are then judged against the wrong bound); 500s, which no upstream
/// fault calls for and the upstream did not send, with `proxy_log` (the started proxy's error log
/// lines) beside them, as a misconfigured proxy (a temp dir it cannot write) answers. "" when none.
[[nodiscard]] std::string setup_hints(const std::vector<ScenarioResult>& results, const ProxyTimeouts& declared,
                                      const std::string& proxy_log = {});

/// Where a run's scenarios stand in the whole suite (before --shard), so that the reports of
/// shards, or of machines, can be merged into the report of one run (upfault merge).
struct SuitePosition {
  std::string fingerprint;  ///< of the whole suite: a hash of its scenario names, in order
  std::size_t total = 0;    ///< scenarios in the whole suite
  unsigned shard = 1, shards = 1;
  std::map<std::string, std::size_t> index;  ///< scenario name → its place in the whole suite
  // What else must agree between reports that are merged:
  std::size_t selected = 0;  ///< the scenarios this run was to judge (its shard); fewer results: it stopped early
  ProxyTimeouts timeouts;    ///< the proxy's upstream timeouts the verdicts assume
  bool strict = false;       ///< --strict
  int interrupted = 0;       ///< the stop signal that ended the run early, or 0
  /// With --repeat N: N, and how many runs ended without a signal stopping them (each result then
  /// holds its outcomes over the runs: ScenarioResult::runs); both 0 without --repeat.
  unsigned repeat = 0, repeat_completed = 0;
};
[[nodiscard]] SuitePosition suite_position(const std::vector<Scenario>& whole);

/// The verdict a report names ("pass", "stricter", "fail", "error", "not-run"), as to_string
/// writes it; nullopt for any other word (a report read back is untrusted).
[[nodiscard]] std::optional<VerdictKind> verdict_named(std::string_view word);
/// How an exchange ended, as a report names it ("complete", "closed-early", …); nullopt for any other word.
[[nodiscard]] std::optional<Ending> ending_named(std::string_view word);

/// The most shards a suite can be split into.
inline constexpr unsigned kMaxShards = 10000;
/// "I/N" as `--shard` and a report's suite.shard give it: 1 <= I <= N <= kMaxShards. The Problem
/// reads "takes I/N with …; not "TEXT"", for the caller to prefix with what it read.
[[nodiscard]] Result<std::pair<unsigned, unsigned>> parse_shard(std::string_view text);

/// A report's "summary": the count of each verdict in `results` (report rows), and the wall time.
[[nodiscard]] boost::json::object report_summary(const boost::json::array& results, double wall_seconds);

/// What a conformance matrix results file (results/NAME.json) records beside the report, so that
/// the page can be built from the file alone (docs/json-report.md); empty fields are left out.
struct RunRecord {
  std::string profile;                        ///< the profile the proxy ran with (proxies/<profile>/)
  std::vector<std::string> config;            ///< the profile's config templates, relative to its directory
  std::string date;                           ///< the day of the run, YYYY-MM-DD (UTC)
  std::string died;                           ///< how the proxy ended when it exited during the run
  unsigned repeat = 0, repeat_completed = 0;  ///< `matrix --repeat N`: N and the runs completed (0: no --repeat)
};

/// The JSON report (docs/json-report.md): {"proxy": {...}, "suite": {...}, "summary": {...},
/// "results": [...]}; "suite" and each result's "index" only with a position, what a matrix
/// results file records besides only with a record.
[[nodiscard]] std::string to_json(const ProxyInfo& proxy, const std::vector<ScenarioResult>& results,
                                  double wall_seconds, const SuitePosition* position = nullptr,
                                  const RunRecord* record = nullptr);
/// … with what a matrix results file records besides.
[[nodiscard]] std::string to_json(const ProxyInfo& proxy, const std::vector<ScenarioResult>& results,
                                  double wall_seconds, const RunRecord& record);
/// The same report as a JSON object, for the files made from it (JUnit, summary) without a
/// serialise-and-parse round trip.
[[nodiscard]] boost::json::object report_object(const ProxyInfo& proxy, const std::vector<ScenarioResult>& results,
                                                double wall_seconds, const SuitePosition* position = nullptr,
                                                const RunRecord* record = nullptr);

/// JUnit XML as GitHub, GitLab and Jenkins read it: one <testsuite> per category, one <testcase>
/// per scenario (classname = category); <failure> for fail, <error> for error, with the verdict's
/// reason as message; <system-out> with what the proxy sent. Made from the JSON report, so that a
/// merged report makes the same file as a single run.
[[nodiscard]] std::string junit_from_report(const boost::json::object& report);
[[nodiscard]] std::string to_junit(const ProxyInfo& proxy, const std::vector<ScenarioResult>& results,
                                   double wall_seconds);

/// A Markdown summary fit for a CI job summary: the count line, then every failure with its
/// reason. Made from the JSON report too.
[[nodiscard]] std::string summary_from_report(const boost::json::object& report);
[[nodiscard]] std::string to_markdown_summary(const ProxyInfo& proxy, const std::vector<ScenarioResult>& results,
                                              double wall_seconds);

/// Whether to colour output on `out`: a TTY and NO_COLOR unset.
[[nodiscard]] bool want_colour(std::FILE* out);

/// A string field of a report object ("" when absent or not a string).
[[nodiscard]] std::string text_of(const boost::json::object& o, std::string_view key);
/// A report's proxy as "name version" (raw text: escape it for its medium).
[[nodiscard]] std::string proxy_label(const boost::json::object& report);

}  // namespace upfault
