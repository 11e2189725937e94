#pragma once
// Small string helpers shared inside the library.
#include <initializer_list>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "upfault/text.hpp"

namespace upfault {

[[nodiscard]] bool iequals(std::string_view a, std::string_view b);
/// True when the comma-separated field value `list` holds `token` (case-insensitive), as in
/// `Connection: keep-alive, close`.
[[nodiscard]] bool has_token(std::string_view list, std::string_view token);
/// True when `fields` (name, value pairs) hold a field named `name` (case-insensitive).
[[nodiscard]] bool has_field(std::span<const std::pair<std::string, std::string>> fields, std::string_view name);
/// True when `fields` say `Connection: close` (RFC 9112 §9.6), in a request or a response.
[[nodiscard]] bool says_close(std::span<const std::pair<std::string, std::string>> fields);
/// The closest of `options` to `word` when it is close enough to be a likely typo.
[[nodiscard]] std::optional<std::string> did_you_mean(std::string_view word, std::span<const std::string_view> options);
[[nodiscard]] inline std::optional<std::string> did_you_mean(std::string_view word,
                                                             std::initializer_list<std::string_view> options) {
  return did_you_mean(word, std::span<const std::string_view>(options.begin(), options.size()));
}
[[nodiscard]] inline std::optional<std::string> did_you_mean(std::string_view word,
                                                             const std::vector<std::string_view>& options) {
  return did_you_mean(word, std::span<const std::string_view>(options));
}
/// Scenario names travel in URLs: a-z, 0-9, '-', '_', '.'.
[[nodiscard]] bool valid_name(std::string_view name);
/// A deterministic body of `size` printable bytes (for body_size): lines of a repeating alphabet.
[[nodiscard]] std::string generated_body(std::size_t size);
/// Text safe inside HTML or XML content and attribute values (& < > " ' escaped, and safe_text).
[[nodiscard]] std::string markup_escape(std::string_view s);
/// `s` as a TOML basic string: "…" with \" \\ \r \n \t and \uXXXX for other control bytes.
[[nodiscard]] std::string toml_quote(std::string_view s);
/// The standard reason phrase of a status code ("" when it has none).
[[nodiscard]] std::string_view reason_phrase(int status);

}  // namespace upfault
