#include "upfault/matrix.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>

#include "base/pattern.hpp"
#include "base/toml_file.hpp"
#include "base/util.hpp"
#include "upfault/http.hpp"

namespace upfault {

namespace fs = std::filesystem;

// A documented deviation explains a failed cell only for the scenarios it names, and never one
// where the upstream's response was valid: rejecting or mangling a valid response is a defect
// whatever the documentation says.
const Quirk* ProxyNotes::explain(const Scenario& scenario, std::optional<int> status) const {
  const auto& accept = scenario.expect.accept;
  if (std::any_of(accept.begin(), accept.end(), [](const Outcome& o) { return o.passthrough(); })) return nullptr;
  for (const auto& q : quirks) {
    if (std::find(q.scenarios.begin(), q.scenarios.end(), scenario.name) == q.scenarios.end()) continue;
    if (q.status && status != q.status) continue;
    return &q;
  }
  return nullptr;
}

const Quirk* ProxyNotes::explain(const ScenarioResult& r) const {
  std::optional<int> status;
  if (r.client.response && r.client.header_complete) status = r.client.response->status;
  return explain(*r.scenario, status);
}

std::string ProxyNotes::note(const ScenarioResult& r) const {
  if (r.verdict.kind != VerdictKind::fail) return "";
  if (const auto* q = explain(r))
    return fmt::format("{}: {} (\"{}\", {}){}", q->configurable ? "configurable default" : "documented deviation",
                       q->summary, q->quote, q->link,
                       q->configurable ? fmt::format("; the setting that changes it: {}", q->setting) : "");
  return "";
}

namespace {

// One [[quirk]] table, every key of its type: a quirk that silently lost a key would excuse more
// (or less) than its file says.
Result<Quirk> load_quirk(const toml::table& qt) {
  auto wrong = [&](const toml::node* n, std::string message, boost::source_location where = BOOST_CURRENT_LOCATION) {
    return problem_at(n ? *n : qt, std::move(message), where);
  };
  if (auto known =
          known_keys(qt, {"scenarios", "status", "summary", "link", "quote", "default", "setting"}, "a [[quirk]]");
      !known)
    return known.error();
  Quirk q;
  if (const auto* n = qt.get("scenarios")) {
    const auto* a = n->as_array();
    if (!a) return wrong(n, "scenarios must be an array of scenario names");
    for (auto&& e : *a) {
      if (!e.is_string()) return wrong(&e, "scenarios must be an array of scenario names");
      q.scenarios.push_back(*e.value<std::string>());
    }
  }
  if (const auto* n = qt.get("status")) {
    const auto* st = n->as_integer();
    if (!st || st->get() < 100 || st->get() > 999) return wrong(n, "status must be a status code (an integer)");
    q.status = static_cast<int>(st->get());
  }
  for (auto [key, field] : {std::pair{"summary", &q.summary}, std::pair{"link", &q.link}, std::pair{"quote", &q.quote},
                            std::pair{"setting", &q.setting}}) {
    const auto* n = qt.get(key);
    if (n && !n->is_string()) return wrong(n, fmt::format("{} must be a string", key));
    if (n) *field = *n->value<std::string>();
  }
  if (const auto* n = qt.get("default")) {
    if (!n->is_boolean()) return wrong(n, "default must be true or false");
    q.configurable = *n->value<bool>();
  }
  if (q.summary.empty() || q.scenarios.empty() || q.link.empty() || q.quote.empty())
    return wrong(nullptr,
                 "a quirk needs summary, scenarios (the ones it explains: none by status alone), link (the "
                 "proxy's documentation) and quote (the sentence there that states the behaviour)");
  if (q.configurable && q.setting.empty())
    return wrong(qt.get("default"), "default = true needs setting: what to set to change the behaviour");
  if (!q.configurable && !q.setting.empty())
    return wrong(qt.get("setting"), "setting belongs to a configurable default: add default = true, or remove it");
  return q;
}

}  // namespace

Result<ProxyNotes> load_quirks(const fs::path& dir) {
  ProxyNotes out;
  std::error_code ec;
  const auto file = dir / "quirks.toml";
  if (!fs::exists(file, ec)) return out;
  auto fail = [&](const Problem& p) { return p.in_file(file.string()); };
  auto parsed = read_toml(file, 1 << 20);
  if (!parsed) return fail(parsed.error());
  const auto& t = *parsed;
  if (const auto* n = t.get("unstable"))  // hand-written marks were wrong both ways: stability is measured
    return fail(
        problem_at(*n,
                   "[[unstable]] is no longer read: whether a proxy answers a scenario differently from run to run is "
                   "measured, not written. Remove it, and run `upfault run --repeat N` (or `upfault matrix --repeat "
                   "N`): every report then shows each scenario's outcomes with their counts"));
  if (auto known = known_keys(t, {"quirk"}, "quirks.toml"); !known) return fail(known.error());
  if (const auto* n = t.get("quirk"); n && !(n->is_array_of_tables()))
    return fail(problem_at(*n, "quirk must be an array of tables: [[quirk]]"));
  if (auto* list = t.get_as<toml::array>("quirk"))
    for (auto&& q : *list) {
      auto quirk = load_quirk(*q.as_table());
      if (!quirk) return fail(quirk.error());
      out.quirks.push_back(std::move(*quirk));
    }
  return out;
}

std::string rfc_link(const std::string& rfc) {
  static const auto re = Pattern::compile(R"(RFC\s*(\d+)\s*§\s*([0-9.]*[0-9]))").value();
  auto m = re.search(rfc);
  if (!m) return "";
  return fmt::format("https://www.rfc-editor.org/rfc/rfc{}#section-{}", (*m)[0], (*m)[1]);
}

}  // namespace upfault
