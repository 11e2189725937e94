// upstream_request: what the upstream received — the request's header fields as the proxy
// forwarded them (VTest's symmetry: the server side is checked as well as the client side).
#include "base/pattern.hpp"
#include "base/util.hpp"
#include "judge/checks/check.hpp"
#include "model/wire.hpp"

namespace upfault {
namespace {

// The field lines of the first request head in `received`, as (name, value) with the value's
// surrounding whitespace removed: read as the fake upstream reads a head (model/wire.hpp).
std::vector<Header> field_lines(std::string_view received) {
  std::vector<Header> fields;
  upstream::for_each_field(received.substr(0, received.find("\r\n\r\n")), [&](auto name, auto value) {
    while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
    while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) value.remove_suffix(1);
    fields.emplace_back(std::string(name), std::string(value));
  });
  return fields;
}

// The body of the first request in `received`, framed as the fake upstream frames it (chunked,
// else Content-Length, else none); nullopt when it is not all within the bytes kept.
std::optional<std::string> forwarded_body(std::string_view received) {
  const auto end = received.find("\r\n\r\n");
  if (end == std::string_view::npos) return std::nullopt;
  const auto framing = upstream::parse_head(received.substr(0, end + 4)).body;
  const auto rest = received.substr(end + 4);
  if (framing.chunked) return upstream::chunked_body(rest);
  const auto n = framing.content_length.value_or(0);
  if (n > rest.size()) return std::nullopt;
  return std::string(rest.substr(0, n));
}

class UpstreamRequest final : public Check {
 public:
  struct Want {
    std::vector<std::string> present, absent;
    std::vector<Header> matching;  // field name, RE2 pattern for its (joined) value
    bool body_intact = false;
  };
  // The patterns were checked by parse(): compiled here, once, at load.
  explicit UpstreamRequest(Want want) : want_(std::move(want)) {
    for (const auto& [name, pattern] : want_.matching) matching_.push_back(Pattern::compile(pattern).value());
  }
  std::string_view key() const override { return "upstream_request"; }
  std::string toml() const override {
    std::vector<std::string> parts;
    if (!want_.present.empty()) parts.push_back("present = " + toml_strings(want_.present));
    if (!want_.absent.empty()) parts.push_back("absent = " + toml_strings(want_.absent));
    if (!want_.matching.empty()) parts.push_back("matching = " + toml_fields(want_.matching));
    if (want_.body_intact) parts.push_back("body_intact = true");
    return fmt::format("upstream_request = {{ {} }}", fmt::join(parts, ", "));
  }
  std::string describe() const override {
    std::vector<std::string> parts;
    for (const auto& n : want_.present) parts.push_back("with " + n);
    for (const auto& n : want_.absent) parts.push_back("without " + n);
    for (const auto& [n, p] : want_.matching) parts.push_back(fmt::format("with {} matching /{}/", n, p));
    if (want_.body_intact) parts.push_back("with the client's body whole");
    return fmt::format("the upstream's request {}", fmt::join(parts, ", "));
  }
  bool needs_response() const override { return false; }
  std::optional<Miss> mismatch(const Observation& seen) const override {
    if (seen.upstream.connections.empty()) return Miss{"no request reached the upstream"};
    const auto& received = seen.upstream.connections.front().received;
    const auto fields = field_lines(received);
    auto values = [&](const std::string& want) {
      std::vector<std::string> out;
      for (const auto& [n, v] : fields)
        if (iequals(n, want)) out.push_back(v);
      return out;
    };
    for (const auto& n : want_.present)
      if (values(n).empty()) return Miss{fmt::format("the upstream's request had no {} field", n)};
    for (const auto& n : want_.absent)
      if (!values(n).empty()) return Miss{fmt::format("the upstream's request had a {} field", n)};
    for (std::size_t i = 0; i < want_.matching.size(); ++i) {
      const auto& [n, pattern] = want_.matching[i];
      const auto got = values(n);
      if (got.empty()) return Miss{fmt::format("the upstream's request had no {} field", n)};
      if (!matching_[i].full_match(joined(got)))
        return Miss{fmt::format("the upstream's request had {}: \"{}\", which does not match /{}/", n,
                                printable(joined(got)), printable(pattern, 200))};
    }
    if (want_.body_intact) {
      const auto body = forwarded_body(received);
      if (!body) return Miss{"the upstream did not receive a whole request body (as its framing declares it)"};
      if (*body != seen.scenario.request.body)
        return Miss{fmt::format("the upstream received the body \"{}\" ({} bytes), not the client's ({} bytes)",
                                printable(*body, 60), body->size(), seen.scenario.request.body.size())};
    }
    return std::nullopt;
  }

 private:
  Want want_;
  std::vector<Pattern> matching_;  ///< want_.matching's patterns, compiled at load
};

std::shared_ptr<const Check> parse(FileContext& cx, const toml::node& n) {
  auto* t = n.as_table();
  if (!t) {
    cx.error(n, "upstream_request must be a table: { present = [\"Via\"], absent = [\"Connection\"] }");
    return nullptr;
  }
  const auto errors_before = cx.errors().size();
  cx.check_keys(*t, {"present", "absent", "matching", "body_intact"}, "upstream_request");
  UpstreamRequest::Want want;
  if (auto* p = t->get("present"))
    if (auto names = load_names(cx, *p, "present")) want.present = std::move(*names);
  if (auto* a = t->get("absent"))
    if (auto names = load_names(cx, *a, "absent")) want.absent = std::move(*names);
  if (auto* m = t->get("matching")) {
    want.matching = load_headers(cx, *m);
    for (const auto& [name, pattern] : want.matching) {
      if (!cx.another_pattern(*m)) return nullptr;
      if (auto re = Pattern::compile(pattern); !re)
        cx.error(*m, fmt::format("upstream_request: the pattern for {} is not a valid RE2 regex: {}", name,
                                 re.error().message));
    }
  }
  if (auto* b = t->get("body_intact")) {
    auto v = b->value<bool>();
    if (!v) cx.error(*b, "body_intact must be true or false");
    want.body_intact = v.value_or(false);
  }
  if (want.present.empty() && want.absent.empty() && want.matching.empty() && !want.body_intact) {
    if (cx.errors().size() == errors_before)  // a typo inside already says what is wrong
      cx.error(n, "upstream_request needs present, absent, matching or body_intact = true");
    return nullptr;
  }
  return std::make_shared<UpstreamRequest>(std::move(want));
}

}  // namespace

extern const CheckDef upstream_request_check = {
    .key = "upstream_request",
    .order = 105,
    .example =
        "`upstream_request = { present = [\"Via\"], absent = [\"Expect\"], matching = [\"Via: 1\\\\.1 .*\"], "
        "body_intact = true }`",
    .toml_example =
        "upstream_request = { present = [\"Via\"], absent = [\"Expect\"], matching = [\"Via: 1\\\\.1 .*\"], "
        "body_intact = true }",
    .holds =
        "the first request the upstream received had these header fields, not those, fields whose values match these "
        "regexes (RE2, the whole value), and the client's body whole as its framing declares it (e.g. no hop-by-hop "
        "field forwarded, no `Expect` invented)",
    .parse = parse,
};

}  // namespace upfault
