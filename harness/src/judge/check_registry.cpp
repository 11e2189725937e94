// The check registry (see checks/check.hpp): the generated index, sorted; the helpers checks
// share; and what an Outcome answers from its checks.
#include <algorithm>

#include "base/registry.hpp"

#include "base/util.hpp"
#include "judge/checks/check.hpp"

namespace upfault {

std::vector<const CheckDef*> all_check_defs();  // generated from the files in checks/

const std::vector<const CheckDef*>& check_registry() {
  static const auto defs = in_documented_order(all_check_defs());
  return defs;
}

const std::vector<CheckKind>& check_kinds() {
  static const auto kinds = [] {
    std::vector<CheckKind> out;
    for (const auto* d : check_registry()) out.push_back({d->key, d->example, d->holds, d->toml_example});
    return out;
  }();
  return kinds;
}

std::string checks_markdown() {
  std::string out = "| key | holds when |\n| --- | --- |\n";
  for (const auto& k : check_kinds()) out += fmt::format("| {} | {} |\n", k.example, k.holds);
  return out;
}

std::vector<std::string> field_values(const ClientResult& c, std::string_view name) {
  std::vector<std::string> out;
  for (const auto& [n, v] : c.response->headers)
    if (iequals(n, name)) out.push_back(v);
  return out;
}

bool body_is(const ClientResult& c, std::string_view want) {
  if (c.body_size != want.size()) return false;
  if (want.size() <= kBodyKeep) return c.response->body == want;
  return c.body_digest == body_digest(want);
}

std::string joined(const std::vector<std::string>& values) { return fmt::format("{}", fmt::join(values, ", ")); }

std::string toml_strings(const std::vector<std::string>& values) {
  std::vector<std::string> quoted;
  for (const auto& v : values) quoted.push_back(toml_quote(v));
  return fmt::format("[{}]", fmt::join(quoted, ", "));
}

std::string toml_fields(const std::vector<Header>& fields) {
  std::vector<std::string> lines;
  for (const auto& [n, v] : fields) lines.push_back(n + ": " + v);
  return toml_strings(lines);
}

std::optional<std::vector<std::string>> load_names(FileContext& cx, const toml::node& n, std::string_view key) {
  auto* a = n.as_array();
  if (!a) {
    cx.error(n, fmt::format("{} must be an array of field names", key));
    return std::nullopt;
  }
  std::vector<std::string> names;
  for (auto&& v : *a)
    if (auto name = cx.string(v, key)) names.push_back(*name);
  return names;
}

std::vector<int> load_status_codes(FileContext& cx, const toml::node& n, std::string_view key) {
  std::vector<int> codes;
  auto add = [&](const toml::node& v) {
    // Any three digits: a scenario may expect (or count as stricter) a status a proxy relays
    // although RFC 9110 §15 defines only 100-599.
    auto code = integer(v);
    if (!code || *code < 0 || *code > 999)
      cx.error(v,
               fmt::format("{} must be an integer of three digits (000 to 999; RFC 9110 §15 defines 100 to 599)", key));
    else
      codes.push_back(static_cast<int>(*code));
  };
  if (auto* a = n.as_array()) {
    if (a->empty()) cx.error(n, fmt::format("{} list is empty", key));
    for (auto&& v : *a) add(v);
  } else {
    add(n);
  }
  return codes;
}

std::string Outcome::describe() const {
  std::string s;
  for (const auto& c : checks) {
    auto part = c->describe();
    if (part.empty()) continue;
    if (!s.empty()) s += " with ";
    s += part;
  }
  return s.empty() ? "any response" : s;
}

bool Outcome::passthrough() const {
  return std::any_of(checks.begin(), checks.end(), [](const auto& c) { return c->passthrough(); });
}

const std::vector<int>* Outcome::statuses() const {
  for (const auto& c : checks)
    if (const auto* s = c->statuses()) return s;
  return nullptr;
}

std::optional<DurationExpr> Outcome::latest() const {
  for (const auto& c : checks)
    if (auto l = c->latest()) return l;
  return std::nullopt;
}

}  // namespace upfault
