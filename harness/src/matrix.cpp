#include "upfault/matrix.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>

#include "pattern.hpp"
#include "toml_file.hpp"
#include "upfault/http.hpp"
#include "util.hpp"

namespace upfault {

namespace fs = std::filesystem;

// A documented deviation explains a failed cell only for the scenarios it names, and never one
// where the upstream's response was valid: rejecting or mangling a valid response is a defect
// whatever the documentation says.
const Quirk* ProxyNotes::explain(const ScenarioResult& r) const {
  const auto& accept = r.scenario->expect.accept;
  if (std::any_of(accept.begin(), accept.end(), [](const Outcome& o) { return o.passthrough(); })) return nullptr;
  for (const auto& q : quirks) {
    if (std::find(q.scenarios.begin(), q.scenarios.end(), r.scenario->name) == q.scenarios.end()) continue;
    if (q.status && !(r.client.response && r.client.header_complete && r.client.response->status == *q.status))
      continue;
    return &q;
  }
  return nullptr;
}

std::string ProxyNotes::note(const ScenarioResult& r) const {
  if (r.verdict.kind != VerdictKind::fail) return "";
  if (const auto* q = explain(r))
    return fmt::format("documented deviation: {} (\"{}\", {})", q->summary, q->quote, q->link);
  if (auto u = unstable.find(r.scenario->name); u != unstable.end())
    return fmt::format("known unstable with this proxy: {}", u->second);
  return "";
}

Result<ProxyNotes> load_quirks(const fs::path& dir) {
  ProxyNotes out;
  std::error_code ec;
  const auto file = dir / "quirks.toml";
  if (!fs::exists(file, ec)) return out;
  auto fail = [&](const InputProblem& p, boost::source_location where = BOOST_CURRENT_LOCATION) {
    return problem(fmt::format("{}:{}:{}: {}", file.string(), p.line, p.column, p.message), where);
  };
  auto parsed = read_toml(file, 1 << 20);
  if (!parsed) return fail(parsed.error());
  {
    const auto& t = *parsed;
    if (auto p = unknown_key(t, {"quirk", "unstable"}, "quirks.toml")) return fail(*p);
    if (auto* list = t.get_as<toml::array>("quirk")) {
      for (auto&& q : *list) {
        auto* qt = q.as_table();
        if (!qt) continue;
        if (auto p = unknown_key(*qt, {"scenarios", "status", "summary", "link", "quote"}, "a [[quirk]]"))
          return fail(*p);
        Quirk quirk;
        if (auto* a = qt->get_as<toml::array>("scenarios"))
          for (auto&& n : *a)
            if (auto v = n.value<std::string>()) quirk.scenarios.push_back(*v);
        if (auto* st = (*qt)["status"].as_integer()) quirk.status = static_cast<int>(st->get());
        quirk.summary = (*qt)["summary"].value_or(std::string{});
        quirk.link = (*qt)["link"].value_or(std::string{});
        quirk.quote = (*qt)["quote"].value_or(std::string{});
        const int line = static_cast<int>(qt->source().begin.line),
                  column = static_cast<int>(qt->source().begin.column);
        if (quirk.summary.empty() || quirk.scenarios.empty() || quirk.link.empty() || quirk.quote.empty())
          return fail({line, column,
                       "a quirk needs summary, scenarios (the ones it explains: none by status alone), link (the "
                       "proxy's documentation) and quote (the sentence there that states the behaviour)"});
        out.quirks.push_back(std::move(quirk));
      }
    }
    if (auto* list = t.get_as<toml::array>("unstable"))
      for (auto&& u : *list)
        if (auto* ut = u.as_table()) {
          if (auto p = unknown_key(*ut, {"scenario", "reason"}, "an [[unstable]]")) return fail(*p);
          out.unstable[(*ut)["scenario"].value_or(std::string{})] = (*ut)["reason"].value_or(std::string{});
        }
  }
  return out;
}

std::map<Level, LevelScore> score(const MatrixColumn& column) {
  std::map<Level, LevelScore> out;
  for (const auto& r : column.results) {
    auto& s = out[r.scenario->level];
    ++s.total;
    if (r.verdict.kind == VerdictKind::pass || r.verdict.kind == VerdictKind::stricter) ++s.passed;
  }
  return out;
}

std::string rfc_link(const std::string& rfc) {
  static const auto re = Pattern::compile(R"(RFC\s*(\d+)\s*§\s*([0-9.]*[0-9]))").value();
  auto m = re.search(rfc);
  if (!m) return "";
  return fmt::format("https://www.rfc-editor.org/rfc/rfc{}#section-{}", (*m)[0], (*m)[1]);
}

namespace {

enum class Cell { pass, stricter, fail, known, error, skipped, crash };

Cell cell_of(const MatrixColumn& col, const std::string& name, const ScenarioResult** out) {
  *out = nullptr;
  if (!col.skipped.empty()) return Cell::skipped;
  for (const auto& r : col.results) {
    if (r.scenario->name != name) continue;
    *out = &r;
    if (!r.proxy_crash.empty()) return Cell::crash;
    switch (r.verdict.kind) {
      case VerdictKind::pass: return Cell::pass;
      case VerdictKind::stricter: return Cell::stricter;
      case VerdictKind::error: return Cell::error;
      case VerdictKind::fail: return col.notes.explain(r) ? Cell::known : Cell::fail;
    }
  }
  return Cell::skipped;
}

const char* symbol(Cell c) {
  switch (c) {
    case Cell::pass: return "✅";
    case Cell::stricter: return "🔷";
    case Cell::fail: return "❌";
    case Cell::known: return "📝";
    case Cell::error: return "⚠️";
    case Cell::skipped: return "➖";
    case Cell::crash: return "💥";
  }
  return "";
}

std::string md_escape(std::string s) {
  std::string out;
  for (char c : s) {
    if (c == '|')
      out += "\\|";
    else if (c == '\n')
      out += ' ';
    else
      out += c;
  }
  return out;
}

// Categories in first-seen order, each with its scenarios.
std::vector<std::pair<std::string, std::vector<const Scenario*>>> by_category(const std::vector<Scenario>& scenarios) {
  std::vector<std::pair<std::string, std::vector<const Scenario*>>> out;
  for (const auto& s : scenarios) {
    auto it = std::find_if(out.begin(), out.end(), [&](const auto& p) { return p.first == s.category; });
    if (it == out.end())
      out.push_back({s.category, {&s}});
    else
      it->second.push_back(&s);
  }
  return out;
}

std::string proxy_title(const MatrixColumn& c) {
  return c.proxy.version.empty() ? c.proxy.name : fmt::format("{} {}", c.proxy.name, c.proxy.version);
}

std::string score_text(const MatrixColumn& c) {
  if (!c.skipped.empty()) return "not run";
  int crashes = 0;
  for (const auto& r : c.results) crashes += r.proxy_crash.empty() ? 0 : 1;
  auto sc = score(c);
  std::vector<std::string> parts;
  for (auto level : {Level::must, Level::should, Level::may})
    if (sc[level].total) parts.push_back(fmt::format("{} {}/{}", to_string(level), sc[level].passed, sc[level].total));
  if (crashes) parts.push_back(fmt::format("{} crash{}", crashes, crashes == 1 ? "" : "es"));
  return fmt::format("{}", fmt::join(parts, " · "));
}

// What the proxy did, for a failure: status, bytes, timing, how the connection ended.
std::string what_happened(const ScenarioResult& r) {
  return fmt::format("{} (ended: {}, {} bytes, upstream requests: {})", r.verdict.reason, to_string(r.client.ending),
                     r.client.raw_total, r.upstream.requests());
}

}  // namespace

std::string matrix_markdown(const std::vector<Scenario>& scenarios, const std::vector<MatrixColumn>& columns,
                            const std::string& date) {
  std::string out = fmt::format(
      "# Conformance matrix\n\nHow real reverse proxies treat a misbehaving upstream, judged against RFC 9110 and "
      "RFC 9112 by [upfault](../../README.md). Generated {} by `upfault matrix`; every proxy ran with its profile "
      "under `proxies/` (1 s upstream timeouts).\n\n"
      "✅ pass · 🔷 stricter than required (informative) · ❌ fail · 📝 fail, a documented deviation of the proxy · "
      "⚠️ harness error · 💥 the proxy crashed (restarted for the next scenario) · ➖ not run\n\n## "
      "Proxies\n\n| "
      "proxy "
      "| version | score (passed/total per level) | note |\n"
      "| --- | --- | --- | --- |\n",
      date);
  for (const auto& c : columns)
    out += fmt::format("| {} | {} | {} | {} |\n", c.proxy.name, c.proxy.version.empty() ? "—" : c.proxy.version,
                       score_text(c), md_escape(c.died.empty() ? c.skipped : "crashed during the run: " + c.died));
  for (const auto& [category, list] : by_category(scenarios)) {
    out += fmt::format("\n## {}\n\n| scenario | level |", category);
    for (const auto& c : columns) out += fmt::format(" {} |", c.proxy.name);
    out += "\n| --- | --- |";
    for (std::size_t i = 0; i < columns.size(); ++i) out += " :-: |";
    out += "\n";
    for (const auto* s : list) {
      auto link = rfc_link(s->rfc);
      out += link.empty() ? fmt::format("| {} | {} |", s->name, to_string(s->level))
                          : fmt::format("| [{}]({}) | {} |", s->name, link, to_string(s->level));
      for (const auto& c : columns) {
        const ScenarioResult* r = nullptr;
        out += fmt::format(" {} |", symbol(cell_of(c, s->name, &r)));
      }
      out += "\n";
    }
  }
  out += "\n## What each proxy did where it failed\n";
  for (const auto& c : columns) {
    if (!c.skipped.empty()) continue;
    std::string rows;
    for (const auto& r : c.results) {
      if (r.verdict.kind != VerdictKind::fail && r.verdict.kind != VerdictKind::error) continue;
      rows +=
          fmt::format("- **{}** ({}): {}", r.scenario->name, to_string(r.scenario->level), md_escape(what_happened(r)));
      if (const auto* q = c.notes.explain(r))
        rows += fmt::format(" — known deviation: {} ([docs]({}): “{}”)", md_escape(q->summary), q->link,
                            md_escape(q->quote));
      if (auto u = c.notes.unstable.find(r.scenario->name); u != c.notes.unstable.end())
        rows += fmt::format(" — unstable: {}", md_escape(u->second));
      rows += "\n";
    }
    out += fmt::format("\n### {}\n\n{}", proxy_title(c), rows.empty() ? "No failures.\n" : rows);
  }
  return out;
}

std::string matrix_html(const std::vector<Scenario>& scenarios, const std::vector<MatrixColumn>& columns,
                        const std::string& date) {
  std::string out = R"(<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>upfault conformance matrix</title>
<style>
body{font:14px/1.4 system-ui,-apple-system,"Segoe UI",sans-serif;margin:1.5rem;color:#1b1f24;background:#fff}
h1{font-size:1.5rem;margin:0 0 .3rem} p{margin:.3rem 0 1rem;max-width:70rem}
table{border-collapse:collapse;margin-bottom:1.5rem} th,td{border:1px solid #d0d7de;padding:.25rem .45rem;vertical-align:top}
thead th{position:sticky;top:0;background:#f6f8fa;z-index:1} th.cat{background:#eaeef2;text-align:left;font-size:1rem}
td.name a{color:#0550ae;text-decoration:none} td.name a:hover{text-decoration:underline} td.level{color:#57606a;font-size:.85em}
td.v{text-align:center;min-width:6.5rem} details summary{cursor:pointer;list-style:none} details summary::-webkit-details-marker{display:none}
details div{text-align:left;font-size:.8em;max-width:28rem;white-space:normal;word-break:break-word;margin-top:.3rem}
.pass{background:#dafbe1}.stricter{background:#ddf4ff}.fail{background:#ffebe9}.known{background:#fff8c5}.error{background:#fbefff}.skipped{background:#f6f8fa;color:#8c959f}.crash{background:#ffd8d3;font-weight:bold}
.legend span{display:inline-block;padding:.1rem .5rem;margin-right:.4rem;border:1px solid #d0d7de;border-radius:4px}
</style></head><body>
<h1>upfault conformance matrix</h1>
)";
  out += fmt::format(
      "<p>How real reverse proxies treat a misbehaving upstream, judged against RFC 9110 and RFC 9112. "
      "Generated {} by <code>upfault matrix</code>; each proxy ran with its profile (1&nbsp;s upstream "
      "timeouts). Click a cell for what the proxy did.</p>\n",
      markup_escape(date));
  out +=
      "<p class=\"legend\"><span class=\"pass\">pass</span><span class=\"stricter\">stricter than required</span>"
      "<span class=\"fail\">fail</span><span class=\"known\">known deviation</span><span class=\"error\">harness "
      "error</span><span class=\"crash\">proxy crashed</span><span class=\"skipped\">not run</span></p>\n";
  out += "<table id=\"matrix\"><thead><tr><th>scenario</th><th>level</th>";
  for (const auto& c : columns)
    out += fmt::format("<th class=\"proxy\">{}<br><small>{}</small></th>", markup_escape(proxy_title(c)),
                       markup_escape(score_text(c)));
  out += "</tr></thead><tbody>\n";
  for (const auto& c : columns)
    if (!c.died.empty())
      out += fmt::format(
          "<tr><td colspan=\"{}\" class=\"error\"><b>{}</b> crashed during the run ({}); the "
          "scenarios after the crash could not reach it.</td></tr>\n",
          columns.size() + 2, markup_escape(c.proxy.name), markup_escape(c.died));
  for (const auto& [category, list] : by_category(scenarios)) {
    out +=
        fmt::format("<tr><th class=\"cat\" colspan=\"{}\">{}</th></tr>\n", columns.size() + 2, markup_escape(category));
    for (const auto* s : list) {
      auto link = rfc_link(s->rfc);
      std::string name = link.empty() ? markup_escape(s->name)
                                      : fmt::format("<a href=\"{}\" title=\"{}\">{}</a>", markup_escape(link),
                                                    markup_escape(s->rfc), markup_escape(s->name));
      out += fmt::format(
          "<tr class=\"scenario\" id=\"{}\"><td class=\"name\" title=\"{}\">{}</td><td class=\"level\">{}</td>",
          markup_escape(s->name), markup_escape(s->summary), name, to_string(s->level));
      for (const auto& c : columns) {
        const ScenarioResult* r = nullptr;
        auto cell = cell_of(c, s->name, &r);
        static constexpr const char* kClass[] = {"pass", "stricter", "fail", "known", "error", "skipped", "crash"};
        static constexpr const char* kWord[] = {"pass",  "stricter", "fail", "known deviation",
                                                "error", "not run",  "crash"};
        const auto i = static_cast<std::size_t>(cell);
        if (!r) {
          out += fmt::format("<td class=\"v {}\">{}</td>", kClass[i], kWord[i]);
          continue;
        }
        std::string detail = markup_escape(what_happened(*r));
        if (const auto* q = r->verdict.kind == VerdictKind::fail ? c.notes.explain(*r) : nullptr)
          detail += fmt::format("<br><b>Known deviation:</b> {} (<a href=\"{}\">docs</a>: <q>{}</q>)",
                                markup_escape(q->summary), markup_escape(q->link), markup_escape(q->quote));
        if (auto u = c.notes.unstable.find(s->name); u != c.notes.unstable.end())
          detail += fmt::format("<br><b>Unstable:</b> {}", markup_escape(u->second));
        out += fmt::format("<td class=\"v {}\"><details><summary>{}</summary><div>{}</div></details></td>", kClass[i],
                           kWord[i], detail);
      }
      out += "</tr>\n";
    }
  }
  out += "</tbody></table>\n</body></html>\n";
  return out;
}

}  // namespace upfault
