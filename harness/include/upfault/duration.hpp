#pragma once
/// Durations in scenario files: "300ms", "2s", "1.5 * read_timeout", "2 * read_timeout + 500ms".
#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "upfault/problem.hpp"

namespace upfault {

using Millis = std::chrono::milliseconds;

/// The upstream timeouts a proxy under test is configured with. Scenarios name them
/// ("1.5 * read_timeout") so that one corpus works against proxies configured differently.
struct ProxyTimeouts {
  Millis read{1000};     ///< time the proxy waits for the upstream's response header / next body bytes
  Millis connect{1000};  ///< time the proxy waits for a TCP connect to the upstream
};

/// A duration written relative to the proxy's timeouts: fixed + a·read_timeout + b·connect_timeout.
class DurationExpr {
 public:
  DurationExpr() = default;
  static DurationExpr fixed(Millis ms);

  /// Parses "1.5s", "300ms", "250us", "2m", "read_timeout", "1.5 * read_timeout + 1s". At most
  /// 1 hour fixed and 100 × each timeout; otherwise says what is wrong with the text.
  [[nodiscard]] static Result<DurationExpr> parse(std::string_view text);

  /// The concrete duration for a proxy configured with `t`.
  [[nodiscard]] Millis resolve(const ProxyTimeouts& t) const;
  /// True when the value depends on the proxy's timeouts.
  [[nodiscard]] bool relative() const { return read_factor_ != 0 || connect_factor_ != 0; }
  /// The text the duration was written as (or a canonical form).
  [[nodiscard]] const std::string& text() const { return text_; }

 private:
  double fixed_ms_ = 0;
  double read_factor_ = 0;
  double connect_factor_ = 0;
  std::string text_ = "0ms";
};

/// Formats a duration for people: "850 ms", "1.21 s".
[[nodiscard]] std::string format_millis(Millis ms);

}  // namespace upfault
