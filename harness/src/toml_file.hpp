#pragma once
// One way to read a TOML file that upfault does not control (profiles, quirks): bounded in
// size and nesting (bounded_input.hpp), then parsed by toml++, every problem at line:column.
#include <toml++/toml.h>

#include "bounded_input.hpp"

namespace upfault {

/// Parses `file` (a regular file of at most `limit` bytes); on failure nullopt and `problem`.
[[nodiscard]] inline std::optional<toml::table> read_toml(const std::filesystem::path& file, std::size_t limit,
                                                          InputProblem& problem) {
  std::string error;
  auto text = read_bounded(file, limit, error);
  if (!text) {
    problem = {1, 1, error};
    return std::nullopt;
  }
  if (auto deep = check_toml_depth(*text)) {
    problem = *deep;
    return std::nullopt;
  }
  try {
    return toml::parse(*text, file.string());
  } catch (const toml::parse_error& e) {
    problem = {static_cast<int>(e.source().begin.line), static_cast<int>(e.source().begin.column),
               std::string(e.description())};
    return std::nullopt;
  }
}

}  // namespace upfault
