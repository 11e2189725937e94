// docs/conformance/README.md: the ranking first, then the matrix, then each failure's reason.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include "matrix/matrix_text.hpp"
#include "upfault/matrix.hpp"
#include "upfault/text.hpp"

namespace upfault {

namespace {

using namespace matrix_text;

const char* symbol(CellKind c) {
  switch (c) {
    case CellKind::pass: return "✅";
    case CellKind::stricter: return "🔷";
    case CellKind::fail: return "❌";
    case CellKind::known: return "📝";
    case CellKind::configured: return "⚙️";
    case CellKind::error: return "⚠️";
    case CellKind::skipped: return "➖";
    case CellKind::crash: return "💥";
  }
  return "";
}

// The proxy's name, linked to its profile when it has one, and its version.
std::string who(const ProxyColumn& c) {
  std::string name = markdown_escape(c.proxy.name);
  if (!c.profile.empty()) name = fmt::format("[{}](../../proxies/{}/profile.toml)", name, c.profile);
  if (!c.profile.empty() && !c.config.empty())
    name += fmt::format(" ([config](../../proxies/{}/{}))", c.profile, c.config.front());
  return c.proxy.version.empty() ? name : fmt::format("{} {}", name, markdown_escape(c.proxy.version));
}

std::string summary(const std::vector<ProxyColumn>& columns, const std::vector<Standing>& ranked) {
  std::string out =
      "## Summary: proxies ranked by what their failures risk\n\n"
      "| rank | proxy | crash | desync | lost information | wrong error | configurable defaults (not ranked) | "
      "passed as shipped (ranked scenarios, defaults fail) | passed of ran (all sections) | note |\n"
      "| --: | --- | --: | --: | --: | --: | --- | --: | --: | --- |\n";
  const auto places = places_of(ranked);
  for (std::size_t i = 0; i < ranked.size(); ++i) {
    const auto& s = ranked[i];
    const auto& c = columns[s.column];
    if (s.reference && s.ran) continue;  // under the table
    if (!s.ran) {
      out += fmt::format("| — | {} | | | | | | | | not run: {} |\n", who(c), markdown_escape(c.skipped));
      continue;
    }
    std::vector<std::string> notes;
    if (s.not_run) notes.push_back(fmt::format("{} not run (an upstream protocol it lacks)", s.not_run));
    if (static_cast<std::size_t>(s.crashes) != s.crashed.size())
      notes.push_back(fmt::format("{} crash{} in all sections", s.crashes, s.crashes == 1 ? "" : "es"));
    if (!s.errors.empty()) notes.push_back(fmt::format("{} harness error(s)", s.errors.size()));
    if (!s.failures[3].empty()) notes.push_back(fmt::format("{} unclassified failure(s)", s.failures[3].size()));
    if (!s.unranked.empty())
      notes.push_back(fmt::format("{} failure(s) where not every proxy ran (not ranked)", s.unranked.size()));
    if (!c.died.empty()) notes.push_back("died during the run: " + markdown_escape(c.died));
    if (const auto runs = runs_note(c, s); !runs.empty()) notes.push_back(runs);
    if (several_days(columns) && !c.date.empty()) notes.push_back("ran " + markdown_escape(c.date));
    const auto defaults =
        s.configured.empty()
            ? std::string("—")
            : fmt::format("{} ({})", s.configured.size(),
                          markdown_escape(fmt::format("{}", fmt::join(settings(c, s.configured), "; "))));
    out += fmt::format("| {} | {} | {} | {} | {} | {} | {} | {} | {}/{} | {} |\n", places[i], who(c), s.crashed.size(),
                       s.failures[0].size(), s.failures[1].size(), s.failures[2].size(), defaults, shipped_text(s),
                       s.passed, s.ran_count(c), fmt::join(notes, " · "));
  }
  if (const auto ref = reference_line(columns, ranked); !ref.empty())
    out += fmt::format("\n{}\n", markdown_escape(ref));
  out += fmt::format("\n**How the ranking works.** {}\n\n- **crash**: {}\n", kRankingRule, kCrashDefinition);
  for (std::size_t r = 0; r < 3; ++r) out += fmt::format("- **{}**: {}\n", risk_text(r).label, risk_text(r).definition);
  out += "\n### What this does and does not show\n\n";
  for (auto l : limits()) out += fmt::format("- {}\n", l);
  return out;
}

std::string category_tables(const ProtocolSection& section, const std::vector<Scenario>& scenarios,
                            const std::vector<ProxyColumn>& columns, const std::vector<Standing>& ranked);

// The tables, by upstream protocol, each section saying which proxies it could not test and why.
std::string tables(const std::vector<Scenario>& scenarios, const std::vector<ProxyColumn>& columns,
                   const std::vector<Standing>& ranked) {
  std::string out;
  for (const auto& section : by_protocol(scenarios)) {
    out += fmt::format("\n# {}\n", section.title);
    const auto missing = not_tested(section, columns);
    if (!missing.empty()) out += "\nNot tested here (➖):\n\n";
    for (const auto& [proxy, reasons] : missing)
      out += fmt::format("- **{}**: {}\n", markdown_escape(proxy),
                         markdown_escape(fmt::format("{}", fmt::join(reasons, "; "))));
    out += category_tables(section, scenarios, columns, ranked);
  }
  return out;
}

std::string category_tables(const ProtocolSection& section, const std::vector<Scenario>& scenarios,
                            const std::vector<ProxyColumn>& columns, const std::vector<Standing>& ranked) {
  std::string out;
  for (const auto& [category, list] : section.categories) {
    out += fmt::format("\n## {}\n\n| scenario | level | risk |", category);
    for (const auto& s : ranked) out += fmt::format(" {} |", markdown_escape(columns[s.column].proxy.name));
    out += "\n| --- | --- | --- |";
    for (std::size_t i = 0; i < ranked.size(); ++i) out += " :-: |";
    out += "\n";
    for (auto k : list) {
      const auto& sc = scenarios[k];
      const auto link = rfc_link(sc.rfc);
      out += fmt::format("| {} | {} | {} |", link.empty() ? sc.name : fmt::format("[{}]({})", sc.name, link),
                         to_string(sc.level), sc.risk ? to_string(*sc.risk) : "—");
      for (const auto& s : ranked) {
        const auto& c = columns[s.column];
        if (c.cells.empty())
          out += fmt::format(" {} |", symbol(CellKind::skipped));
        else
          out += fmt::format(" {}{} |", symbol(cell_kind(c, c.cells[k])), share_text(c.cells[k]));
      }
      out += "\n";
    }
  }
  return out;
}

std::string failure_line(const ProxyColumn& c, const MatrixCell& cell) {
  std::string row = fmt::format("- **{}** ({}): {}", cell.scenario->name, to_string(cell.scenario->level),
                                markdown_escape(what_happened(cell)));
  if (!cell.crash.empty()) row += fmt::format(" — the proxy crashed ({})", markdown_escape(cell.crash));
  if (const auto* q = c.notes.explain(*cell.scenario, cell.status))
    row += fmt::format(" — {}: {} ([docs]({}): “{}”){}", q->configurable ? "configurable default" : "known deviation",
                       markdown_escape(q->summary), q->link, markdown_escape(q->quote),
                       q->configurable ? fmt::format("; to change it: {}", markdown_escape(q->setting)) : "");
  if (const auto [head, each] = runs_text(cell); !head.empty())
    row += fmt::format(" — {}: {}", head, markdown_escape(fmt::format("{}", fmt::join(each, "; "))));
  return row + "\n";
}

std::string failures(const std::vector<ProxyColumn>& columns, const std::vector<Standing>& ranked) {
  std::string out = "\n## What each proxy did where it failed\n";
  const auto places = places_of(ranked);
  for (std::size_t i = 0; i < ranked.size(); ++i) {
    const auto& s = ranked[i];
    const auto& c = columns[s.column];
    if (!s.ran) continue;
    if (s.reference)
      out += fmt::format("\n### {} (upfault's own, not ranked)\n", markdown_escape(proxy_title(c)));
    else
      out += fmt::format("\n### {}. {}\n", places[i], markdown_escape(proxy_title(c)));
    auto group = [&](std::string_view title, const std::vector<std::size_t>& cells) {
      if (cells.empty()) return;
      out += fmt::format("\n**{}** ({})\n\n", title, cells.size());
      for (auto k : cells) out += failure_line(c, c.cells[k]);
    };
    group("crash", s.crashed);
    for (std::size_t r = 0; r < 4; ++r) group(risk_text(r).label, s.failures[r]);
    group("configurable defaults (not ranked)", s.configured);
    group("where not every proxy ran (an upstream protocol some profile lacks; not ranked)", s.unranked);
    group("harness errors (not ranked)", s.errors);
    if (s.failure_count() + s.unranked.size() + s.configured.size() + s.errors.size() == 0) out += "\nNo failures.\n";
    std::vector<std::size_t> never_failed;  // its verdict varied, but no run failed: listed nowhere above
    for (auto k : s.unstable)
      if (c.cells[k].verdict != VerdictKind::fail) never_failed.push_back(k);
    group("verdict varied over the runs, none failed", never_failed);
  }
  return out;
}

}  // namespace

std::string matrix_markdown(const std::vector<Scenario>& scenarios, const std::vector<ProxyColumn>& columns,
                            const std::string& date) {
  const auto ranked = rank(columns);
  std::string out = fmt::format(
      "# Conformance matrix\n\nHow real reverse proxies treat a misbehaving upstream, judged against RFC 9110 and "
      "RFC 9112 by [upfault](../../README.md): {} scenarios, {} proxies. Built {} by `upfault matrix` from each "
      "proxy's results file (`results/NAME.json`); every proxy ran with its profile under `proxies/` (1 s upstream "
      "timeouts). The same page, with a filter and a search box: [index.html](index.html); every crash and desync with "
      "a "
      "reproduction: [FINDINGS.md](FINDINGS.md).\n\n",
      scenarios.size(), columns.size(), date);
  out += summary(columns, ranked);
  out +=
      "\n✅ pass · 🔷 stricter than required (informative) · ❌ fail · 📝 fail, a documented deviation of the proxy · "
      "⚙️ fail, a configurable default of the proxy (not ranked) · ⚠️ harness error · 💥 the proxy crashed "
      "(restarted for the next scenario) · ➖ not run · ❌ 2/5: the verdict varied over repeated runs (`--repeat`): the "
      "worst shown, with how many runs gave it\n";
  out += tables(scenarios, columns, ranked);
  out += failures(columns, ranked);
  return out;
}

}  // namespace upfault
