#include <fmt/format.h>

#include "commands.hpp"
#include "upfault/text.hpp"

namespace upfault::cli {

void setup_list(CLI::App& app, int& exit_code) {
  auto* cmd = app.add_subcommand("list", "List scenarios: name, category, level, tags, summary");
  auto paths = std::make_shared<std::vector<std::string>>();
  auto filters = std::make_shared<std::vector<std::string>>();
  auto steps = std::make_shared<bool>(false);
  cmd->add_option("paths", *paths, "Scenario files or directories (default: scenarios)");
  cmd->add_option("-f,--filter", *filters, kFilterHelp);
  auto checks = std::make_shared<bool>(false);
  auto markdown = std::make_shared<bool>(false);
  cmd->add_flag("--steps", *steps, "List the step kinds of the scenario language instead");
  cmd->add_flag("--checks", *checks, "List the expectation checks of the scenario language instead");
  cmd->add_flag("--markdown", *markdown, "With --steps or --checks: the reference, as in scenarios/README.md");
  cmd->callback([=, &exit_code] {
    if (*checks) {
      if (*markdown)
        fmt::print("{}", checks_markdown());
      else
        for (const auto& k : check_kinds()) fmt::print("{:<18} {}\n", k.key, k.holds);
      return;
    }
    if (*steps) {
      if (*markdown)
        fmt::print("{}", steps_markdown());
      else
        for (const auto& k : step_kinds()) fmt::print("{:<10} {}\n", k.name, k.summary);
      return;
    }
    auto r = load_suite(*paths, *filters);
    std::size_t wn = 4, wc = 8;
    for (const auto& s : r.scenarios) wn = std::max(wn, s.name.size()), wc = std::max(wc, s.category.size());
    fmt::print("{:<{}}  {:<{}}  {:<6}  {:<20}  {}\n", "NAME", wn, "CATEGORY", wc, "LEVEL", "TAGS", "SUMMARY");
    // Summaries, tags and directory names are the files' text: escaped, so none reaches the terminal raw.
    for (const auto& s : r.scenarios)
      fmt::print("{:<{}}  {:<{}}  {:<6}  {:<20}  {}\n", s.name, wn, safe_text(s.category, false), wc,
                 to_string(s.level), safe_text(fmt::format("{}", fmt::join(s.tags, ",")), false),
                 safe_text(s.summary, false));
    if (!r.errors.empty()) exit_code = kInputError;
  });
}

}  // namespace upfault::cli
