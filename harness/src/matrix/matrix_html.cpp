// docs/conformance/index.html: one self-contained page. The ranking first (one card per proxy on a
// phone), what the page does not show, then the matrix with a failures-only filter and a search
// box, its first column and header row sticky, each cell's details on demand. The style and the
// script are src/matrix/page/matrix.css and matrix.js, inlined.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include "base/util.hpp"
#include "matrix/matrix_text.hpp"
#include "upfault/matrix.hpp"

namespace upfault {

namespace page {
extern const std::string_view kCss;
extern const std::string_view kJs;
}  // namespace page

namespace {

using namespace matrix_text;

constexpr const char* kKindClass[] = {"pass", "stricter", "fail", "known", "configured", "error", "crash", "skipped"};

std::string e(std::string_view s) { return markup_escape(s); }

std::string risk_badge(std::size_t index) {
  const auto t = risk_text(index);
  return fmt::format("<span class=\"risk {}\">{}</span>", t.id, t.label);
}

// The proxy's name (its profile, when it has one), its version, and links to its profile's files.
// `column` is its column's number in the matrix, `place` its place in the ranking ("" if none).
std::string who(const ProxyColumn& c, std::size_t column, const std::string& place) {
  std::string out = fmt::format("<span class=\"rankno\">{}</span><a class=\"pname\" href=\"#col-{}\">{}</a> {}", place,
                                column, e(c.proxy.name), e(c.proxy.version));
  if (c.profile.empty()) return out;
  const auto dir = fmt::format("../../proxies/{}/", e(c.profile));
  out += fmt::format("<br><small><a href=\"{}profile.toml\">profile</a>", dir);
  if (!c.config.empty()) out += fmt::format(" · <a href=\"{}{}\">config template</a>", dir, e(c.config.front()));
  return out + fmt::format(" · <a href=\"{}\">all files</a></small>", dir);
}

// One failed cell as a line of a list: the scenario (linked to its row) and what the proxy did.
std::string failure_item(const ProxyColumn& c, std::size_t k) {
  const auto& cell = c.cells[k];
  std::string out = fmt::format("<li><a href=\"#s-{}\">{}</a> <small>({})</small>: {}", e(cell.scenario->name),
                                e(cell.scenario->name), to_string(cell.scenario->level), e(cell.reason));
  if (const auto* q = c.notes.explain(*cell.scenario, cell.status))
    out += fmt::format(" <b>{}</b>", q->configurable ? "configurable default" : "documented deviation");
  if (cell.unstable()) out += fmt::format(" <b>{}</b>", e(runs_text(cell).first));
  return out + "</li>";
}

// A count cell of the ranking; its failures on demand.
std::string count_cell(const ProxyColumn& c, const std::vector<std::size_t>& cells, std::string_view label,
                       std::string_view cls, const std::string& extra = "") {
  if (cells.empty()) return fmt::format("<td class=\"n zero c-{}\" data-label=\"{}\">0</td>", cls, label);
  std::string items;
  for (auto k : cells) items += failure_item(c, k);
  return fmt::format(
      "<td class=\"n c-{}\" data-label=\"{}\"><details><summary class=\"risk {}\">{}</summary><ul>{}"
      "</ul></details>{}</td>",
      cls, label, cls, cells.size(), items, extra);
}

// `column`: its column's number in the matrix; `rank`: its place, shared with those it ties with.
std::string standing_row(const ProxyColumn& c, const Standing& s, std::size_t column, std::size_t rank, bool dated) {
  if (!s.ran)
    return fmt::format(
        "<tr class=\"standing\" data-proxy=\"{}\" data-rank=\"-\"><td class=\"rank\">—</td><td class=\"who\">{}</td>"
        "<td class=\"note\" colspan=\"8\">not run: {}</td></tr>\n",
        e(c.proxy.name), who(c, column, ""), e(c.skipped));
  std::string row = fmt::format(
      "<tr class=\"standing\" data-proxy=\"{}\" data-rank=\"{}\"><td class=\"rank\">{}</td><td class=\"who\">{}</td>",
      e(c.proxy.name), rank, rank, who(c, column, fmt::format("{}.", rank)));
  row += count_cell(c, s.crashed, "crash", "crash");
  for (std::size_t r = 0; r < 3; ++r) row += count_cell(c, s.failures[r], risk_text(r).label, risk_text(r).id);
  const auto settings_used = settings(c, s.configured);
  row += count_cell(c, s.configured, "defaults (not ranked)", "configured",
                    settings_used.empty() ? ""
                                          : fmt::format("<br><small>to change: {}</small>",
                                                        e(fmt::format("{}", fmt::join(settings_used, "; ")))));
  row += fmt::format(
      "<td class=\"n\" data-label=\"passed as shipped\">{}</td><td class=\"n\" data-label=\"passed of ran\">{}/{}"
      "</td>",
      shipped_text(s), s.passed, s.ran_count(c));
  std::vector<std::string> notes;
  if (s.not_run) notes.push_back(fmt::format("{} not run (an upstream protocol it lacks)", s.not_run));
  if (static_cast<std::size_t>(s.crashes) != s.crashed.size())
    notes.push_back(fmt::format("{} crash{} in all sections", s.crashes, s.crashes == 1 ? "" : "es"));
  if (!s.errors.empty()) notes.push_back(fmt::format("{} harness error(s)", s.errors.size()));
  if (!s.failures[3].empty()) notes.push_back(fmt::format("{} unclassified failure(s)", s.failures[3].size()));
  if (!s.unranked.empty())
    notes.push_back(fmt::format("{} failure(s) where not every proxy ran (not ranked)", s.unranked.size()));
  if (!c.died.empty()) notes.push_back("died during the run: " + e(c.died));
  if (const auto runs = runs_note(c, s); !runs.empty()) notes.push_back(e(runs));
  if (dated && !c.date.empty()) notes.push_back("ran " + e(c.date));
  return row + fmt::format("<td class=\"note\">{}</td></tr>\n", fmt::join(notes, " · "));
}

std::string summary(const std::vector<ProxyColumn>& columns, const std::vector<Standing>& ranked) {
  std::string out =
      "<section id=\"summary\"><h2>Summary: proxies ranked by what their failures risk</h2>\n"
      "<p>Each count is the failures of that class; click it for the scenarios. Most severe class first.</p>\n"
      "<table id=\"ranking\"><thead><tr><th>#</th><th>proxy</th><th>crash</th><th>desync</th><th>lost information"
      "</th><th>wrong error</th><th>configurable defaults<br><small>(not ranked)</small></th><th>passed as shipped"
      "<br><small>(ranked scenarios, defaults fail)</small></th><th>passed of ran<br><small>(all sections)</small>"
      "</th><th>note</th></tr></thead><tbody>\n";
  const auto places = places_of(ranked);
  for (std::size_t i = 0; i < ranked.size(); ++i)
    if (!ranked[i].reference || !ranked[i].ran)
      out += standing_row(columns[ranked[i].column], ranked[i], i + 1, places[i], several_days(columns));
  out += "</tbody></table>\n";
  if (const auto ref = reference_line(columns, ranked); !ref.empty())
    out += fmt::format("<p class=\"reference\" id=\"reference\">{}</p>\n", e(ref));
  out += fmt::format(
      "<p>Every crash and every desync, with how to reproduce it without upfault's runner: <a "
      "href=\"FINDINGS.md\">FINDINGS.md</a>.</p>\n<p class=\"rule\" id=\"ranking-rule\"><b>How the ranking works.</b> "
      "{}</p>\n",
      e(kRankingRule));
  out += fmt::format("<dl class=\"risks\"><dt><span class=\"risk crash\">crash</span></dt><dd>{}</dd>",
                     e(kCrashDefinition));
  for (std::size_t r = 0; r < 3; ++r)
    out += fmt::format("<dt>{}</dt><dd>{}</dd>", risk_badge(r), e(risk_text(r).definition));
  out += "</dl>\n<h2 id=\"limits\">What this does and does not show</h2>\n<ul class=\"limits\">";
  for (auto l : limits()) out += fmt::format("<li>{}</li>", e(l));
  return out + "</ul></section>\n";
}

// What a failed or odd cell says on demand: what the proxy did, its class, the profile's notes.
std::string cell_detail(const ProxyColumn& c, const MatrixCell& cell, CellKind kind) {
  std::string d = e(what_happened(cell));
  if (!cell.crash.empty()) d += fmt::format("<br><b>The proxy crashed:</b> {}", e(cell.crash));
  if (kind == CellKind::crash)
    d += "<br>Counts as <span class=\"risk crash\">crash</span>.";
  else if (kind == CellKind::fail || kind == CellKind::known)
    d += fmt::format("<br>Counts as {}.", risk_badge(risk_index(failure_risk(cell))));
  if (const auto* q = kind == CellKind::pass || kind == CellKind::stricter
                          ? nullptr
                          : c.notes.explain(*cell.scenario, cell.status)) {
    d += fmt::format("<br><b>{}:</b> {} (<a href=\"{}\">docs</a>: <q>{}</q>)",
                     q->configurable ? "Configurable default" : "Known deviation", e(q->summary), e(q->link),
                     e(q->quote));
    if (q->configurable) d += fmt::format(" To change it: <code>{}</code>.", e(q->setting));
  }
  if (const auto [head, each] = runs_text(cell); !head.empty()) {
    d += fmt::format("<br><b>{}:</b><ul>", e(head));
    for (const auto& line : each) d += fmt::format("<li>{}</li>", e(line));
    d += "</ul>";
  }
  return d;
}

std::string scenario_row(const Scenario& s, std::size_t k, const std::vector<ProxyColumn>& columns,
                         const std::vector<Standing>& ranked) {
  const auto link = rfc_link(s.rfc);
  const auto name =
      link.empty() ? e(s.name) : fmt::format("<a href=\"{}\" title=\"{}\">{}</a>", e(link), e(s.rfc), e(s.name));
  std::string cells;
  bool fails = false;
  for (std::size_t i = 0; i < ranked.size(); ++i) {
    const auto& c = columns[ranked[i].column];
    const auto kind = c.cells.empty() ? CellKind::skipped : cell_kind(c, c.cells[k]);
    const auto cls = kKindClass[static_cast<std::size_t>(kind)];
    const char* side = i + 4 >= ranked.size() ? " right" : "";
    const bool unstable = !c.cells.empty() && c.cells[k].unstable();
    fails = fails || unstable || !(kind == CellKind::pass || kind == CellKind::stricter || kind == CellKind::skipped);
    // A pass whose runs differed opens like a failure: it shows them.
    if (c.cells.empty() || (kind == CellKind::pass && c.cells[k].runs.empty())) {
      cells += fmt::format("<td class=\"v {}{}\">{}</td>", cls, side, cell_word(kind));
      continue;
    }
    cells += fmt::format("<td class=\"v {}{}{}\"><details><summary>{}{}</summary><div>{}</div></details></td>", cls,
                         unstable ? " varied" : "", side, cell_word(kind), share_text(c.cells[k]),
                         cell_detail(c, c.cells[k], kind));
  }
  const auto risk = s.risk ? std::string(to_string(*s.risk)) : std::string("unclassified");
  return fmt::format(
      "<tr class=\"scenario\" id=\"s-{}\" data-category=\"{}\" data-fails=\"{}\" data-search=\"{}\">"
      "<th class=\"name\" scope=\"row\" title=\"{}\">{} {} <span class=\"level\">{}</span></th>{}</tr>\n",
      e(s.name), e(s.category), fails ? 1 : 0,
      e(fmt::format("{} {} {} {} {} {}", s.name, s.summary, s.category, risk, to_string(s.level),
                    fmt::join(s.tags, " "))),
      e(s.summary), name, risk_badge(risk_index(s.risk)), to_string(s.level), cells);
}

std::string matrix_table(const std::vector<Scenario>& scenarios, const std::vector<ProxyColumn>& columns,
                         const std::vector<Standing>& ranked) {
  std::string out =
      "<section id=\"matrix-section\"><h2>Every scenario through every proxy</h2>\n"
      "<p>Columns in the order of the ranking. Click a cell for what the proxy did; a scenario's name links to the "
      "RFC section it checks.</p>\n<div class=\"controls\"><input type=\"search\" id=\"q\" placeholder=\"Search "
      "scenarios: name, category, risk, level…\" aria-label=\"Search scenarios\"><label><input type=\"checkbox\" "
      "id=\"failures\"> failures only</label><span id=\"shown\" class=\"muted\"></span></div>\n"
      "<p class=\"legend\"><span class=\"pass\">pass</span><span class=\"stricter\">stricter than required</span>"
      "<span class=\"fail\">fail</span><span class=\"known\">known: a documented deviation</span><span "
      "class=\"configured\">default: a configurable default</span><span class=\"error\">harness error</span><span "
      "class=\"crash\">proxy crashed</span><span class=\"skipped\">not run</span><span class=\"varied\">fail 2/5: "
      "the verdict varied over repeated runs; the worst shown, with how many runs gave it</span></p>\n"
      "<div class=\"wrap\"><table id=\"matrix\"><thead><tr><th class=\"name\">scenario</th>";
  for (std::size_t i = 0; i < ranked.size(); ++i) {
    const auto& c = columns[ranked[i].column];
    out += fmt::format(
        "<th class=\"proxy\" id=\"col-{}\" data-proxy=\"{}\"><a href=\"#summary\">{}</a><br><small>{}"
        "</small></th>",
        i + 1, e(c.proxy.name), e(c.proxy.name), e(c.proxy.version));
  }
  out += "</tr></thead><tbody>\n";
  for (const auto& section : by_protocol(scenarios)) {
    std::string missing;
    for (const auto& [proxy, reasons] : not_tested(section, columns))
      missing += fmt::format("<li><b>{}</b>: {}</li>", e(proxy), e(fmt::format("{}", fmt::join(reasons, "; "))));
    out +=
        fmt::format("<tr class=\"proto\" id=\"{}\"><th colspan=\"{}\"><span>{}</span>{}</th></tr>\n", section.id,
                    ranked.size() + 1, e(section.title),
                    missing.empty() ? "" : fmt::format("<p class=\"muted\">Not tested here:</p><ul>{}</ul>", missing));
    for (const auto& [category, list] : section.categories) {
      out += fmt::format("<tr class=\"cat\" data-category=\"{}\"><th colspan=\"{}\"><span>{}</span></th></tr>\n",
                         e(category), ranked.size() + 1, e(category));
      for (auto k : list) out += scenario_row(scenarios[k], k, columns, ranked);
    }
  }
  return out + "</tbody></table></div></section>\n";
}

}  // namespace

std::string matrix_html(const std::vector<Scenario>& scenarios, const std::vector<ProxyColumn>& columns,
                        const std::string& date) {
  const auto ranked = rank(columns);
  std::string out = fmt::format(
      "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
      "<title>upfault conformance matrix: which reverse proxy tells its clients the truth</title>\n<style>\n{}</style>"
      "</head><body>\n<h1>Which reverse proxy tells its clients the truth?</h1>\n"
      "<p>How {} reverse proxies treat a misbehaving upstream in {} scenarios, judged against RFC 9110 and RFC 9112 "
      "by <a href=\"../../README.md\">upfault</a>. Built {} by <code>upfault matrix</code> from each proxy's results "
      "file (<code>results/NAME.json</code>). Every proxy ran with its profile (1&nbsp;s upstream timeouts).</p>\n"
      "<nav><a href=\"#summary\">Ranking</a><a href=\"#ranking-rule\">How it ranks</a><a href=\"#limits\">What it "
      "does not show</a><a href=\"#matrix-section\">Every scenario</a><a href=\"FINDINGS.md\">Findings: "
      "crashes and desyncs, to reproduce</a></nav>\n",
      page::kCss, columns.size(), scenarios.size(), e(date));
  out += summary(columns, ranked);
  out += matrix_table(scenarios, columns, ranked);
  out += fmt::format("<script>\n{}</script>\n</body></html>\n", page::kJs);
  return out;
}

}  // namespace upfault
