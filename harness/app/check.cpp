#include <fmt/format.h>

#include "commands.hpp"

namespace upfault::cli {

void setup_check(CLI::App& app, int& exit_code) {
  auto* cmd = app.add_subcommand("check", "Validate scenario files; errors name file:line:col");
  auto paths = std::make_shared<std::vector<std::string>>();
  cmd->add_option("paths", *paths, "Scenario files or directories (default: scenarios)");
  cmd->callback([paths, &exit_code] {
    auto r = load_suite(*paths, {});
    if (!r.errors.empty()) {
      fmt::print(stderr, "{} error{} in the suite; {} scenario{} valid\n", r.errors.size(),
                 r.errors.size() == 1 ? "" : "s", r.scenarios.size(), r.scenarios.size() == 1 ? "" : "s");
      exit_code = kInputError;
      return;
    }
    fmt::print("{} scenario{} valid\n", r.scenarios.size(), r.scenarios.size() == 1 ? "" : "s");
  });
}

}  // namespace upfault::cli
