#pragma once
/// Text from outside (a proxy's bytes, a directory's name, a scenario's summary) made safe to show.
#include <string>
#include <string_view>

namespace upfault {

/// Text safe for any output (terminal, JSON, XML, Markdown): valid UTF-8 is kept, every other
/// byte and every control character (but tab, and newline where `newlines`) becomes `\xNN`, so
/// no escape sequence reaches a terminal and no report is malformed by a name or a proxy's bytes.
[[nodiscard]] std::string safe_text(std::string_view s, bool newlines = true);

/// Text from outside made safe in each medium it can reach, one function per medium:
/// - a terminal or a log: safe_text(s, false) (above);
/// - HTML or XML content and attribute values: markup_escape (util.hpp);
/// - Markdown (a table cell or running text of a README or a CI summary): markdown_escape, which
///   keeps the text on one line (newlines become spaces), shows HTML (`<script>`) as text, and
///   escapes what would make a link, an image, code, or a new table column.
[[nodiscard]] std::string markdown_escape(std::string_view s);

}  // namespace upfault
