#pragma once
/// The conformance matrix: every scenario against every proxy, as Markdown and as one
/// self-contained HTML page.
#include <filesystem>
#include <map>
#include <optional>
#include <string>
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
};

/// What proxies/<name>/quirks.toml says: [[quirk]] (scenarios, status, summary, link, quote) and
/// [[unstable]] (scenario, reason): scenarios where the proxy itself answers differently from
/// run to run.
struct ProxyNotes {
  std::vector<Quirk> quirks;
  std::map<std::string, std::string> unstable;
  /// The quirk that explains a failed result, if any.
  [[nodiscard]] const Quirk* explain(const ScenarioResult& r) const;
  /// What to print beside a failed result (ScenarioResult::note): the documented deviation that
  /// explains it, with the proxy's own words and where they are, or why it is known unstable; "".
  [[nodiscard]] std::string note(const ScenarioResult& r) const;
};

/// Loads proxies/<name>/quirks.toml (a missing file: no notes), or says where it is wrong.
[[nodiscard]] Result<ProxyNotes> load_quirks(const std::filesystem::path& profile_dir);

/// One proxy's column.
struct MatrixColumn {
  ProxyInfo proxy;
  std::string skipped;  ///< why it did not run (not installed, never ready); empty when it ran
  std::string died;     ///< how the proxy ended when it exited during the run (a finding in itself)
  std::vector<ScenarioResult> results;
  ProxyNotes notes;
  double wall_seconds = 0;
};

/// Counts of passed (pass or stricter) scenarios per level, out of the total per level.
struct LevelScore {
  int passed = 0;
  int total = 0;
};
[[nodiscard]] std::map<Level, LevelScore> score(const MatrixColumn& column);

/// A link to the RFC section a scenario cites ("RFC 9110 §15.6.3" → rfc-editor.org), or "".
[[nodiscard]] std::string rfc_link(const std::string& rfc);

/// docs/conformance/README.md.
[[nodiscard]] std::string matrix_markdown(const std::vector<Scenario>& scenarios,
                                          const std::vector<MatrixColumn>& columns, const std::string& date);
/// docs/conformance/index.html: no external assets; details on demand; works offline.
[[nodiscard]] std::string matrix_html(const std::vector<Scenario>& scenarios, const std::vector<MatrixColumn>& columns,
                                      const std::string& date);

}  // namespace upfault
