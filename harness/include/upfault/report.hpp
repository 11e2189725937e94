#pragma once
/// Reporting results: console lines, the JSON report.
#include <cstdio>
#include <string>
#include <vector>

#include "upfault/observed.hpp"

namespace upfault {

/// Counts of each verdict class.
struct Tally {
  int pass = 0, stricter = 0, fail = 0, error = 0;
  void add(VerdictKind k);
  [[nodiscard]] int total() const { return pass + stricter + fail + error; }
  /// "N passed, N failed" (stricter counts as passed, error as failed).
  [[nodiscard]] std::string line() const;
};

/// What `upfault run` prints of a result: its line (the verdict, coloured when `colour`, the
/// scenario, its level, its time), then on failures (or when `verbose`) the verdict's reason and
/// the profile's note, each on a line of its own. upfault::gtest fails a test with the same text.
[[nodiscard]] std::string format_result(const ScenarioResult& r, bool colour, bool verbose);
/// format_result() written to `out`.
void print_result(std::FILE* out, const ScenarioResult& r, bool colour, bool verbose);

/// What a conformance matrix results file (results/NAME.json) records beside the report, so that
/// the page can be built from the file alone (docs/json-report.md); empty fields are left out.
struct RunRecord {
  std::string profile;              ///< the profile the proxy ran with (proxies/<profile>/)
  std::vector<std::string> config;  ///< the profile's config templates, relative to its directory
  std::string date;                 ///< the day of the run, YYYY-MM-DD (UTC)
  std::string died;                 ///< how the proxy ended when it exited during the run
};

/// The JSON report: {"proxy": {...}, "summary": {...}, "results": [...]}.
[[nodiscard]] std::string to_json(const ProxyInfo& proxy, const std::vector<ScenarioResult>& results,
                                  double wall_seconds);
/// … with what a matrix results file records besides.
[[nodiscard]] std::string to_json(const ProxyInfo& proxy, const std::vector<ScenarioResult>& results,
                                  double wall_seconds, const RunRecord& record);

/// JUnit XML as GitHub, GitLab and Jenkins read it: one <testsuite> per category, one <testcase>
/// per scenario (classname = category); <failure> for fail, <error> for error, with the verdict's
/// reason as message; <system-out> with what the proxy sent.
[[nodiscard]] std::string to_junit(const ProxyInfo& proxy, const std::vector<ScenarioResult>& results,
                                   double wall_seconds);

/// A Markdown summary fit for a CI job summary: the count line, then every failure with its reason.
[[nodiscard]] std::string to_markdown_summary(const ProxyInfo& proxy, const std::vector<ScenarioResult>& results,
                                              double wall_seconds);

/// Whether to colour output on `out`: a TTY and NO_COLOR unset.
[[nodiscard]] bool want_colour(std::FILE* out);

}  // namespace upfault
