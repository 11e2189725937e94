#pragma once
// HTTP/1.1 on the fake upstream's side of the wire: just enough of a request head to route it and
// to find where its body ends. The client's response reader (http.hpp) is the other direction.
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace upfault::upstream {

/// How a request's body is framed.
struct BodyFraming {
  std::optional<std::size_t> content_length;
  bool chunked = false;
  [[nodiscard]] bool none() const { return !chunked && content_length.value_or(0) == 0; }
};

/// A parsed request head. The views point into the buffer that holds the head.
struct RequestHead {
  std::string_view target;
  std::string_view scenario_header;  ///< X-Upfault-Scenario, if sent
  BodyFraming body;
};

/// Calls f(name, value) for each field line of a head (after its start line, up to the empty
/// line; CRLF or bare LF), with the value as written after the colon (not trimmed). Allocates
/// nothing: the fake upstream's fast path parses every request with it.
template <typename F>
void for_each_field(std::string_view head, F&& f) {
  auto line_end = head.find('\n');
  while (line_end != std::string_view::npos) {
    head.remove_prefix(line_end + 1);
    line_end = head.find('\n');
    std::string_view field = head.substr(0, line_end);
    if (!field.empty() && field.back() == '\r') field.remove_suffix(1);
    if (field.empty()) return;  // the empty line ends the head
    if (auto colon = field.find(':'); colon != std::string_view::npos)
      f(field.substr(0, colon), field.substr(colon + 1));
  }
}

/// Parses a request head (request line and fields, up to the empty line).
[[nodiscard]] RequestHead parse_head(std::string_view head);

/// The scenario a request names: its X-Upfault-Scenario header, else the path segment after
/// "/__upfault/" in its target.
[[nodiscard]] std::string_view scenario_key(const RequestHead& h);
/// The path segment after "/__upfault/" in `target` ("" when there is none).
[[nodiscard]] std::string_view route_key_view(std::string_view target);

/// Length of a complete chunked body at the front of `buf`, or nullopt while incomplete.
[[nodiscard]] std::optional<std::size_t> chunked_length(std::string_view buf);
/// The data of a complete chunked body at the front of `buf`, decoded; nullopt while incomplete.
[[nodiscard]] std::optional<std::string> chunked_body(std::string_view buf);

}  // namespace upfault::upstream
