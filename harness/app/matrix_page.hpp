#pragma once
// `upfault matrix`'s page: README.md and index.html built from results files (app/matrix_page.cpp).
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "commands.hpp"
#include "upfault/matrix.hpp"
#include "upfault/proxy.hpp"
#include "upfault/report.hpp"

namespace upfault::cli {

/// `upfault matrix --from DIR`: the page from DIR/results/*.json, written where --out says
/// (default: DIR).
struct PageArgs {
  std::string from;
};

/// Today, YYYY-MM-DD (UTC).
[[nodiscard]] std::string today();
/// What a proxy's results file records beside its report: the profile, its config templates, the
/// day, and how the proxy died if it did.
[[nodiscard]] RunRecord run_record(const ProxyProfile& profile, const MatrixColumn& column);
/// A column for a proxy that did not run (not installed, never ready, stopped): no results file.
[[nodiscard]] ProxyColumn not_run_column(const MatrixColumn& column);

/// Writes `out`/README.md and `out`/index.html from the results files in `results_dir` (only
/// those of the proxies `only` names, when given) and the profiles' quirks, with the `not_run`
/// columns after them. Refuses (kInputError, the reason on stderr) a file of another scenario set
/// or schema, two files of one proxy, or a directory with none.
[[nodiscard]] int write_page(const std::vector<Scenario>& scenarios, const std::filesystem::path& results_dir,
                             const std::filesystem::path& out, const std::optional<std::vector<std::string>>& only,
                             std::vector<ProxyColumn> not_run);
/// `upfault matrix --from DIR [PATHS…]`: write_page() of DIR/results/*.json, no proxy run.
[[nodiscard]] int matrix_from(const std::vector<std::string>& paths, const std::filesystem::path& dir,
                              const std::filesystem::path& out);

}  // namespace upfault::cli
