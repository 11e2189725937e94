// raw_head: the status line and field lines of the final response exactly as the client
// received them, before any parsing: case, spacing, order and reason phrase included.
#include "base/pattern.hpp"
#include "judge/checks/check.hpp"

namespace upfault {
namespace {

// The lines of the final response's head in `raw`: interim (1xx) heads before it are skipped.
// Empty when the head is not within the bytes kept.
std::vector<std::string_view> head_lines(std::string_view raw, std::size_t interim) {
  for (std::size_t skip = 0;; ++skip) {
    auto end = raw.find("\r\n\r\n");
    if (end == std::string_view::npos) return {};
    if (skip < interim) {
      raw.remove_prefix(end + 4);
      continue;
    }
    std::vector<std::string_view> lines;
    auto head = raw.substr(0, end + 2);
    for (auto eol = head.find("\r\n"); eol != std::string_view::npos; eol = head.find("\r\n")) {
      lines.push_back(head.substr(0, eol));
      head.remove_prefix(eol + 2);
    }
    return lines;
  }
}

class RawHead final : public Check {
 public:
  // The patterns were checked by parse(): compiled here, once, at load.
  RawHead(std::optional<std::string> status_line, std::vector<std::string> field_lines)
      : status_line_(std::move(status_line)), field_lines_(std::move(field_lines)) {
    if (status_line_) status_re_ = Pattern::compile(*status_line_).value();
    for (const auto& f : field_lines_) field_res_.push_back(Pattern::compile(f).value());
  }
  std::string_view key() const override { return "raw_head"; }
  std::string toml() const override {
    std::vector<std::string> parts;
    if (status_line_) parts.push_back("status_line = " + toml_quote(*status_line_));
    if (!field_lines_.empty()) parts.push_back("field_lines = " + toml_strings(field_lines_));
    return fmt::format("raw_head = {{ {} }}", fmt::join(parts, ", "));
  }
  std::string describe() const override {
    std::vector<std::string> parts;
    if (status_line_) parts.push_back(fmt::format("status line /{}/", *status_line_));
    for (const auto& f : field_lines_) parts.push_back(fmt::format("a field line /{}/", f));
    return fmt::format("{}", fmt::join(parts, ", "));
  }
  std::optional<Miss> mismatch(const Observation& seen) const override {
    const auto lines = head_lines(seen.client.raw, seen.client.interim.size());
    if (lines.empty()) return Miss{"the response's header section is not within the 64 KiB kept"};
    if (status_re_ && !status_re_->full_match(lines.front()))
      return Miss{fmt::format("the status line was \"{}\", which does not match /{}/", printable(lines.front()),
                              printable(*status_line_, 200))};
    for (std::size_t i = 0; i < field_res_.size(); ++i) {
      const auto& re = field_res_[i];
      const bool found = std::any_of(lines.begin() + 1, lines.end(), [&](auto l) { return re.full_match(l); });
      if (!found) return Miss{fmt::format("no field line matches /{}/", printable(field_lines_[i], 200))};
    }
    return std::nullopt;
  }

 private:
  std::optional<std::string> status_line_;
  std::vector<std::string> field_lines_;
  std::optional<Pattern> status_re_;
  std::vector<Pattern> field_res_;
};

std::optional<std::string> load_pattern(FileContext& cx, const toml::node& n, std::string_view what) {
  auto text = cx.string(n, what);
  if (!text || !cx.another_pattern(n)) return std::nullopt;
  if (auto re = Pattern::compile(*text); !re) {
    cx.error(n, fmt::format("raw_head: {} is not a valid RE2 regex: {} (/{}/)", what, re.error().message,
                            printable(*text, 80)));
    return std::nullopt;
  }
  return text;
}

std::shared_ptr<const Check> parse(FileContext& cx, const toml::node& n) {
  auto* t = n.as_table();
  if (!t) {
    cx.error(n, "raw_head must be a table: { status_line = \"HTTP/1\\\\.1 502 .*\", field_lines = [\"...\"] }");
    return nullptr;
  }
  cx.check_keys(*t, {"status_line", "field_lines"}, "raw_head");
  std::optional<std::string> status_line;
  std::vector<std::string> field_lines;
  bool ok = true;
  if (auto* s = t->get("status_line")) ok = (status_line = load_pattern(cx, *s, "status_line")).has_value();
  if (auto* f = t->get("field_lines")) {
    if (auto* a = f->as_array()) {
      for (auto&& v : *a)
        if (auto p = load_pattern(cx, v, "a field_lines pattern"))
          field_lines.push_back(std::move(*p));
        else
          ok = false;
    } else {
      cx.error(*f, "field_lines must be an array of regexes");
      ok = false;
    }
  }
  if (ok && !status_line && field_lines.empty()) cx.error(n, "raw_head needs status_line or field_lines");
  if (!ok || (!status_line && field_lines.empty())) return nullptr;
  return std::make_shared<RawHead>(std::move(status_line), std::move(field_lines));
}

}  // namespace

extern const CheckDef raw_head_check = {
    .key = "raw_head",
    .order = 75,
    .example = "`raw_head = { status_line = \"HTTP/1\\\\.1 502 .*\", field_lines = [\"Content-Length: 0\"] }`",
    .toml_example = "raw_head = { status_line = \"HTTP/1\\\\.1 502 .*\", field_lines = [\"Content-Length: 0\"] }",
    .holds =
        "the final response's status line, and some field line for each pattern, exactly as received match these "
        "regexes (RE2, the whole line without CRLF; the head within the first 64 KiB)",
    .parse = parse,
};

}  // namespace upfault
