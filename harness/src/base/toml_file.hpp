#pragma once
// One way to read a TOML file that upfault does not control (profiles, quirks): bounded in
// size and nesting (bounded_input.hpp), then parsed by toml++, every problem at line:column.
#include <toml++/toml.h>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <span>
#include <vector>

#include "base/bounded_input.hpp"
#include "base/util.hpp"

namespace upfault {

/// Parses `file` (a regular file of at most `limit` bytes), or says where in it (Problem::at) and
/// why not; the caller names the file (Problem::in_file).
[[nodiscard]] inline Result<toml::table> read_toml(const std::filesystem::path& file, std::size_t limit) {
  auto text = read_bounded(file, limit);
  if (!text) return problem_at(1, 1, text.error().message);
  if (auto shallow = check_toml_depth(*text); !shallow) return shallow.error();
  try {
    return toml::parse(*text, file.string());
  } catch (const toml::parse_error& e) {
    return problem_at(static_cast<int>(e.source().begin.line), static_cast<int>(e.source().begin.column),
                      std::string(e.description()));
  }
}

/// A problem at `n`'s place in its file (Problem::at; the caller names the file with in_file).
[[nodiscard]] inline Problem problem_at(const toml::node& n, std::string message,
                                        boost::source_location where = BOOST_CURRENT_LOCATION) {
  return problem_at(static_cast<int>(n.source().begin.line), static_cast<int>(n.source().begin.column),
                    std::move(message), where);
}

/// Every key of `t` not in `allowed`, each as a located problem with a did-you-mean. A typo in a
/// file upfault reads is an error, never silently ignored.
[[nodiscard]] inline std::vector<Problem> unknown_keys(const toml::table& t, std::span<const std::string_view> allowed,
                                                       std::string_view where) {
  std::vector<Problem> out;
  for (auto&& [key, value] : t) {
    if (std::find(allowed.begin(), allowed.end(), key.str()) != allowed.end()) continue;
    std::string msg = fmt::format("unknown key \"{}\" in {}", key.str(), where);
    if (auto guess = did_you_mean(key.str(), allowed))
      msg += fmt::format("; did you mean \"{}\"?", *guess);
    else
      msg += fmt::format(" (allowed: {})", fmt::join(allowed, ", "));
    out.push_back(
        problem_at(static_cast<int>(key.source().begin.line), static_cast<int>(key.source().begin.column), msg));
  }
  return out;
}

/// Every key known, or the first of unknown_keys().
[[nodiscard]] inline Result<void> known_keys(const toml::table& t, std::initializer_list<std::string_view> allowed,
                                             std::string_view where) {
  auto all = unknown_keys(t, std::span<const std::string_view>(allowed.begin(), allowed.size()), where);
  if (all.empty()) return {};
  return std::move(all.front());
}

}  // namespace upfault
