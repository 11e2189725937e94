// headers_match: these fields' values match these RE2 patterns.
#include "base/pattern.hpp"
#include "judge/checks/check.hpp"

namespace upfault {
namespace {

class HeadersMatch final : public Check {
 public:
  HeadersMatch(std::vector<Header> patterns, std::vector<Pattern> compiled)
      : patterns_(std::move(patterns)), compiled_(std::move(compiled)) {}
  std::string_view key() const override { return "headers_match"; }
  std::string toml() const override { return "headers_match = " + toml_fields(patterns_); }
  std::string describe() const override {
    std::string out;
    for (const auto& [n, v] : patterns_)
      out += (out.empty() ? "header " : " with header ") + printable(n) + " matching /" + printable(v) + "/";
    return out;
  }
  std::optional<Miss> mismatch(const Observation& seen) const override {
    for (std::size_t i = 0; i < patterns_.size(); ++i) {
      const auto& [name, pattern] = patterns_[i];
      auto v = field_values(seen.client, name);
      if (v.empty()) return Miss{fmt::format("header {} is missing", name)};
      const auto got = joined(v);
      if (!compiled_[i].full_match(got))
        return Miss{fmt::format("header {} is \"{}\", which does not match /{}/", name, printable(got),
                                printable(pattern, 200))};
    }
    return std::nullopt;
  }

 private:
  std::vector<Header> patterns_;
  std::vector<Pattern> compiled_;  ///< patterns_'s, compiled at load
};

std::shared_ptr<const Check> parse(FileContext& cx, const toml::node& n) {
  auto patterns = load_headers(cx, n);
  bool ok = true;
  std::vector<Pattern> compiled;
  for (const auto& [name, pattern] : patterns) {
    if (!cx.another_pattern(n)) return nullptr;
    if (auto re = Pattern::compile(pattern); !re) {
      cx.error(n, fmt::format("headers_match: the pattern for {} is not a valid RE2 regex: {} (/{}/)", name,
                              re.error().message, printable(pattern, 80)));
      ok = false;
    } else {
      compiled.push_back(std::move(*re));
    }
  }
  if (!ok || patterns.empty()) return nullptr;
  return std::make_shared<HeadersMatch>(std::move(patterns), std::move(compiled));
}

}  // namespace

extern const CheckDef headers_match_check = {
    .key = "headers_match",
    .order = 70,
    .example = "`headers_match = [\"X-A: a +b\"]`",
    .toml_example = "headers_match = [\"X-A: a +b\"]",
    .holds = "these fields' values match these regexes (RE2 syntax, linear-time; the whole value; at most 4096 bytes)",
    .parse = parse,
};

}  // namespace upfault
