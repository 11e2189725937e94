#include <fmt/format.h>

#include <algorithm>

#include "commands.hpp"
#include "upfault/proxy.hpp"

namespace upfault::cli {

namespace fs = std::filesystem;

const char* const kFilterHelp =
    "Select scenarios: NAME-PART, tag:T, level:L, category:C or name:N; repeat to select more";

std::vector<fs::path> suite_paths(const std::vector<std::string>& args) {
  if (!args.empty()) return {args.begin(), args.end()};
  std::error_code ec;
  if (fs::is_directory("scenarios", ec)) return {"scenarios"};
  auto installed = tool_dir().parent_path() / "share" / "upfault" / "scenarios";
  if (fs::is_directory(installed, ec)) return {installed};
#ifdef UPFAULT_SOURCE_SCENARIOS_DIR
  return {UPFAULT_SOURCE_SCENARIOS_DIR};
#else
  return {"scenarios"};
#endif
}

namespace {
bool selected(const Scenario& s, const std::string& f) {
  auto colon = f.find(':');
  std::string key = colon == std::string::npos ? "" : f.substr(0, colon);
  std::string value = colon == std::string::npos ? f : f.substr(colon + 1);
  bool tag = std::find(s.tags.begin(), s.tags.end(), value) != s.tags.end();
  if (key == "tag") return tag;
  if (key == "level") return to_string(s.level) == value;
  if (key == "category") return s.category == value;
  if (key == "name") return s.name.find(value) != std::string::npos;
  return tag || to_string(s.level) == value || s.category == value || s.name.find(value) != std::string::npos;
}
}  // namespace

LoadResult load_suite(const std::vector<std::string>& paths, const std::vector<std::string>& filters) {
  auto r = load_scenarios(suite_paths(paths));
  for (const auto& e : r.errors) fmt::print(stderr, "{}\n", e.str());
  if (!filters.empty()) {
    std::erase_if(r.scenarios, [&](const Scenario& s) {
      return std::none_of(filters.begin(), filters.end(), [&](const std::string& f) { return selected(s, f); });
    });
  }
  return r;
}

}  // namespace upfault::cli
