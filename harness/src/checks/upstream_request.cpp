// upstream_request: what the upstream received — the request's header fields as the proxy
// forwarded them (VTest's symmetry: the server side is checked as well as the client side).
#include "checks/check.hpp"
#include "util.hpp"

namespace upfault {
namespace {

// The field names of the first request head in `received`.
std::vector<std::string> field_names(std::string_view received) {
  std::vector<std::string> names;
  const auto end = received.find("\r\n\r\n");
  auto head = received.substr(0, end);
  for (auto at = head.find("\r\n"); at != std::string_view::npos; at = head.find("\r\n")) {
    head.remove_prefix(at + 2);
    auto line = head.substr(0, head.find("\r\n"));
    if (auto colon = line.find(':'); colon != std::string_view::npos) names.emplace_back(line.substr(0, colon));
  }
  return names;
}

class UpstreamRequest final : public Check {
 public:
  UpstreamRequest(std::vector<std::string> present, std::vector<std::string> absent)
      : present_(std::move(present)), absent_(std::move(absent)) {}
  std::string_view key() const override { return "upstream_request"; }
  std::string toml() const override {
    return fmt::format("upstream_request = {{ present = {}, absent = {} }}", toml_strings(present_),
                       toml_strings(absent_));
  }
  std::string describe() const override {
    std::vector<std::string> parts;
    for (const auto& n : present_) parts.push_back("with " + n);
    for (const auto& n : absent_) parts.push_back("without " + n);
    return fmt::format("the upstream's request {}", fmt::join(parts, ", "));
  }
  bool needs_response() const override { return false; }
  std::optional<Miss> mismatch(const Observation& seen) const override {
    if (seen.upstream.connections.empty()) return Miss{"no request reached the upstream"};
    const auto names = field_names(seen.upstream.connections.front().received);
    auto has = [&](const std::string& want) {
      return std::any_of(names.begin(), names.end(), [&](const std::string& n) { return iequals(n, want); });
    };
    for (const auto& n : present_)
      if (!has(n)) return Miss{fmt::format("the upstream's request had no {} field", n)};
    for (const auto& n : absent_)
      if (has(n)) return Miss{fmt::format("the upstream's request had a {} field", n)};
    return std::nullopt;
  }

 private:
  std::vector<std::string> present_;
  std::vector<std::string> absent_;
};

std::shared_ptr<const Check> parse(FileContext& cx, const toml::node& n) {
  auto* t = n.as_table();
  if (!t) {
    cx.error(n, "upstream_request must be a table: { present = [\"Via\"], absent = [\"Connection\"] }");
    return nullptr;
  }
  cx.check_keys(*t, {"present", "absent"}, "upstream_request");
  std::vector<std::string> present, absent;
  if (auto* p = t->get("present"))
    if (auto names = load_names(cx, *p, "present")) present = std::move(*names);
  if (auto* a = t->get("absent"))
    if (auto names = load_names(cx, *a, "absent")) absent = std::move(*names);
  if (present.empty() && absent.empty()) {
    cx.error(n, "upstream_request needs present or absent field names");
    return nullptr;
  }
  return std::make_shared<UpstreamRequest>(std::move(present), std::move(absent));
}

}  // namespace

extern const CheckDef upstream_request_check = {
    "upstream_request",
    105,
    "`upstream_request = { present = [\"Via\"], absent = [\"Expect\"] }`",
    "upstream_request = { present = [\"Via\"], absent = [\"Expect\"] }",
    "the first request the upstream received had these header fields, and not those (e.g. no hop-by-hop field "
    "forwarded, no `Expect` invented)",
    parse};

}  // namespace upfault
