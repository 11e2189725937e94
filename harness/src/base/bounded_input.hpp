#pragma once
// Reading files that upfault does not control (scenarios, profiles, quirks) within limits:
// only regular files, at most a given size, and TOML whose nesting toml++ can parse without
// running out of stack (toml++ 3.3 recurses per level and has no depth limit of its own).
#include <cstddef>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include "upfault/problem.hpp"

namespace upfault {

/// The whole of `file` when it is a regular file (links followed) of at most `limit` bytes;
/// otherwise why not (a FIFO, a device, a directory, too large, unreadable). Never reads more
/// than limit + 1 bytes, whatever the file claims its size is.
[[nodiscard]] Result<std::string> read_bounded(const std::filesystem::path& file, std::size_t limit);

/// The deepest a TOML key path (table header or dotted key) or value nesting (arrays and inline
/// tables) may go.
inline constexpr int kMaxTomlDepth = 32;

/// Scans TOML text, without parsing it, for a key path with more than kMaxTomlDepth parts or
/// values nested deeper than that: the first such place (Problem::at). Strings and comments are skipped.
[[nodiscard]] Result<void> check_toml_depth(std::string_view text);

}  // namespace upfault
