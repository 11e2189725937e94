#pragma once
// Regular expressions in linear time (RE2): no pattern from a scenario or profile, and no byte
// from a proxy, can make matching recurse or backtrack without bound.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "upfault/problem.hpp"

namespace upfault {

/// A compiled RE2 pattern: compiled once (at load), shared by its copies, used read-only from any
/// thread. Patterns longer than kMaxLength are refused.
class Pattern {
 public:
  static constexpr std::size_t kMaxLength = 4096;
  /// Compiles `pattern`, or says why it cannot be (RE2's message, or its length).
  [[nodiscard]] static Result<Pattern> compile(std::string_view pattern);
  /// How many patterns this process has compiled (for tests: judging must compile none).
  [[nodiscard]] static std::uint64_t compiled();
  Pattern(const Pattern&);
  Pattern& operator=(const Pattern&);
  Pattern(Pattern&&) noexcept;
  Pattern& operator=(Pattern&&) noexcept;
  ~Pattern();

  /// True when the whole of `text` matches.
  [[nodiscard]] bool full_match(std::string_view text) const;
  /// The capture groups of the first match anywhere in `text`; nullopt when nothing matches.
  [[nodiscard]] std::optional<std::vector<std::string>> search(std::string_view text) const;

 private:
  struct Impl;
  explicit Pattern(std::shared_ptr<const Impl> impl);
  std::shared_ptr<const Impl> impl_;
};

}  // namespace upfault
