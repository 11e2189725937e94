#pragma once
/// Loading and validating scenario files (TOML). The only module that sees toml++.
#include <filesystem>
#include <string>
#include <vector>

#include "upfault/scenario.hpp"

namespace upfault {

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

/// One of upfault's own scenarios (a probe, never a test of the proxy): `steps`, the TOML of its
/// [[upstream.steps]], served in `protocol`, expecting 200. A Problem only if it does not load.
[[nodiscard]] Result<Scenario> own_scenario(std::string_view name, std::string_view summary, UpstreamProtocol protocol,
                                            std::string_view steps);

}  // namespace upfault
