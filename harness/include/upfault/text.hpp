#pragma once
/// Text from outside (a proxy's bytes, a directory's name, a scenario's summary) made safe to show.
#include <string>
#include <string_view>

namespace upfault {

/// Text safe for any output (terminal, JSON, XML, Markdown): valid UTF-8 is kept, every other
/// byte and every control character (but tab, and newline where `newlines`) becomes `\xNN`, so
/// no escape sequence reaches a terminal and no report is malformed by a name or a proxy's bytes.
[[nodiscard]] std::string safe_text(std::string_view s, bool newlines = true);

}  // namespace upfault
