#pragma once
// Subcommands of `upfault`; each file adds one with setup_…(app, exit_code).
#include <CLI/CLI.hpp>
#include <filesystem>
#include <string>
#include <vector>

#include "upfault/loader.hpp"

namespace upfault::cli {

enum Exit : int { kPassed = 0, kFailed = 1, kInputError = 2, kProxyError = 3 };

void setup_run(CLI::App& app, int& exit_code);
void setup_serve(CLI::App& app, int& exit_code);
void setup_check(CLI::App& app, int& exit_code);
void setup_list(CLI::App& app, int& exit_code);
void setup_matrix(CLI::App& app, int& exit_code);
void setup_bench(CLI::App& app, int& exit_code);
void setup_routes(CLI::App& app, int& exit_code);
void setup_merge(CLI::App& app, int& exit_code);

/// Scenario paths given on the command line, or the default suite.
std::vector<std::filesystem::path> suite_paths(const std::vector<std::string>& args);
/// Loads the suite, prints every error to stderr; `filters` select scenarios (see --filter).
LoadResult load_suite(const std::vector<std::string>& paths, const std::vector<std::string>& filters);
/// The --filter help text.
extern const char* const kFilterHelp;

}  // namespace upfault::cli
