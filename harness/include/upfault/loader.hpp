#pragma once
/// Loading and validating scenario files (TOML). The only module that sees toml++.
#include <filesystem>
#include <string>
#include <vector>

#include "upfault/scenario.hpp"

namespace upfault {

/// A problem in a scenario file, with where it is.
struct LoadError {
  SourceLocation where;
  std::string message;
  [[nodiscard]] std::string str() const;  ///< "file:line:col: error: message"
};

/// A LoadError built member by member (GCC 12 at -O3 flags the braced nested aggregate
/// `{{file, 1, 1}, message}` as "may be used uninitialized", a false positive).
[[nodiscard]] LoadError make_load_error(std::string file, int line, int column, std::string message);

/// Every scenario that loaded, and every error; one broken file never hides the others.
struct LoadResult {
  std::vector<Scenario> scenarios;
  std::vector<LoadError> errors;
};

/// Loads scenario files. A directory is searched recursively for *.toml, in sorted order;
/// a scenario's category is the name of the directory that holds it.
[[nodiscard]] LoadResult load_scenarios(const std::vector<std::filesystem::path>& paths);

/// Loads one scenario from TOML text (for tests and in-code scenarios). `file` names it in errors.
[[nodiscard]] LoadResult load_scenario_text(std::string_view toml, const std::string& file,
                                            const std::string& category = "");

}  // namespace upfault
