// The JUnit file and the Markdown summary, made from the JSON report (report.hpp): one source
// for a run's files, whether the report is a run's own or merged from shards (upfault merge).
#include <fmt/format.h>
#include <boost/json.hpp>

#include <algorithm>

#include "upfault/http.hpp"
#include "upfault/report.hpp"
#include "util.hpp"

namespace upfault {

namespace json = boost::json;

std::string text_of(const json::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  return v && v->is_string() ? std::string(v->as_string()) : std::string();
}

namespace {

double number_of(const json::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  if (!v) return 0;
  if (v->is_double()) return v->as_double();
  if (v->is_int64()) return static_cast<double>(v->as_int64());
  if (v->is_uint64()) return static_cast<double>(v->as_uint64());
  return 0;
}

const json::array& rows_of(const json::object& report) {
  static const json::array none;
  const auto* r = report.if_contains("results");
  return r && r->is_array() ? r->as_array() : none;
}

std::string proxy_label(const json::object& report) {
  const auto* p = report.if_contains("proxy");
  if (!p || !p->is_object()) return "";
  const auto name = text_of(p->as_object(), "name"), version = text_of(p->as_object(), "version");
  return version.empty() ? name : fmt::format("{} {}", name, version);
}

// Why the report does not hold the whole run it was asked for ("" when it does): a run stopped by a
// signal, or a merge of shards that were missing or stopped (--partial).
std::string cut_short(const json::object& report) {
  std::vector<std::string> why;
  if (const auto* i = report.if_contains("interrupted"); i && !i->is_null())
    why.emplace_back("the run was stopped by a signal: it holds only the scenarios that finished");
  if (const auto* suite = report.if_contains("suite"); suite && suite->is_object()) {
    if (const auto* m = suite->as_object().if_contains("missing_shards"); m && m->is_array() && !m->as_array().empty())
      why.push_back(fmt::format("{} shard(s) missing", m->as_array().size()));
    if (const auto* inc = suite->as_object().if_contains("incomplete"); inc && inc->is_array())
      for (const auto& e : inc->as_array())
        if (e.is_string()) why.push_back(std::string(e.as_string()));
  }
  std::string out;
  for (const auto& w : why) out += fmt::format("{}{}", out.empty() ? "" : "; ", w);
  return out;
}

// Text inside a Markdown code span, where no escape works: one line, no backtick or column bar.
std::string code_span_text(std::string_view raw) {
  std::string s = safe_text(raw, false);
  for (auto& c : s)
    if (c == '`' || c == '|') c = '_';
  return s;
}

std::string seconds_of(const json::object& row) { return fmt::format("{:.3f}", number_of(row, "elapsed_ms") / 1000.0); }

std::string testcase(const json::object& row) {
  const auto verdict = text_of(row, "verdict"), reason = text_of(row, "reason"), note = text_of(row, "note");
  std::string out =
      fmt::format("    <testcase classname=\"{}\" name=\"{}\" time=\"{}\">\n", markup_escape(text_of(row, "category")),
                  markup_escape(text_of(row, "scenario")), seconds_of(row));
  const std::string detail =
      markup_escape(fmt::format("[{}] {} ({})\n{}{}{}", text_of(row, "level"), text_of(row, "summary"),
                                text_of(row, "rfc"), reason, note.empty() ? "" : "\n", note));
  if (verdict == "fail")
    out += fmt::format("      <failure message=\"{}\" type=\"{}\">{}</failure>\n", markup_escape(reason),
                       markup_escape(text_of(row, "level")), detail);
  else if (verdict == "not-run")
    out += fmt::format("      <skipped message=\"{}\"/>\n", markup_escape(reason));
  else if (verdict != "pass" && verdict != "stricter")
    out += fmt::format("      <error message=\"{}\" type=\"error\">{}</error>\n", markup_escape(reason), detail);
  out += fmt::format("      <system-out>verdict: {}\n{}\nthe proxy sent {} bytes: {}</system-out>\n",
                     markup_escape(verdict), markup_escape(reason),
                     static_cast<long long>(number_of(row, "bytes_received")),
                     markup_escape(text_of(row, "received_preview")));
  return out + "    </testcase>\n";
}

}  // namespace

std::string junit_from_report(const json::object& report) {
  const auto& rows = rows_of(report);
  std::vector<std::string> categories;  // in first-seen order
  Tally all;
  for (const auto& r : rows) {
    const auto c = text_of(r.as_object(), "category");
    if (std::find(categories.begin(), categories.end(), c) == categories.end()) categories.push_back(c);
    all.add(text_of(r.as_object(), "verdict"));
  }
  const auto* summary = report.if_contains("summary");
  const double wall = summary && summary->is_object() ? number_of(summary->as_object(), "wall_seconds") : 0;
  std::string out = fmt::format(
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
      "<testsuites name=\"upfault\" tests=\"{}\" failures=\"{}\" errors=\"{}\" skipped=\"{}\" time=\"{:.3f}\">\n",
      all.total() + all.not_run, all.fail, all.error, all.not_run, wall);
  const auto* proxy = report.if_contains("proxy");
  const std::string url = proxy && proxy->is_object() ? text_of(proxy->as_object(), "url") : "";
  const std::string incomplete = cut_short(report);
  const std::string properties = fmt::format(
      "<property name=\"proxy\" value=\"{}\"/><property name=\"url\" value=\"{}\"/>{}",
      markup_escape(proxy_label(report)), markup_escape(url),
      incomplete.empty() ? "" : fmt::format("<property name=\"incomplete\" value=\"{}\"/>", markup_escape(incomplete)));
  for (const auto& category : categories) {
    Tally t;
    double ms = 0;
    std::string cases;
    for (const auto& r : rows) {
      const auto& row = r.as_object();
      if (text_of(row, "category") != category) continue;
      t.add(text_of(row, "verdict"));
      ms += number_of(row, "elapsed_ms");
      cases += testcase(row);
    }
    out += fmt::format(
        "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{}\" errors=\"{}\" skipped=\"{}\" time=\"{:.3f}\">\n"
        "    <properties>{}</properties>\n",
        markup_escape(category), t.total() + t.not_run, t.fail, t.error, t.not_run, ms / 1000.0, properties);
    out += cases + "  </testsuite>\n";
  }
  return out + "</testsuites>\n";
}

std::string summary_from_report(const json::object& report) {
  Tally t;
  for (const auto& r : rows_of(report)) t.add(text_of(r.as_object(), "verdict"));
  const auto* summary = report.if_contains("summary");
  const double wall = summary && summary->is_object() ? number_of(summary->as_object(), "wall_seconds") : 0;
  std::string out = fmt::format("## upfault: {}\n\n**{} passed, {} failed**", markdown_escape(proxy_label(report)),
                                t.pass + t.stricter, t.fail + t.error);
  if (t.stricter) out += fmt::format(" ({} stricter than required)", t.stricter);
  if (t.error) out += fmt::format(" ({} harness error{})", t.error, t.error == 1 ? "" : "s");
  if (t.not_run) out += fmt::format(" ({} not run: an upstream protocol the proxy lacks)", t.not_run);
  out += fmt::format(" in {:.1f} s\n", wall);
  if (const auto incomplete = cut_short(report); !incomplete.empty())
    out += fmt::format("\n**Incomplete:** {}.\n", markdown_escape(incomplete));
  std::string rows;
  for (const auto& r : rows_of(report)) {
    const auto& row = r.as_object();
    const auto verdict = text_of(row, "verdict");
    if (verdict == "pass" || verdict == "stricter" || verdict == "not-run") continue;
    const auto note = text_of(row, "note");
    // fmt, not operator+: GCC 12 at -O3 flags `"…" + std::string` with a false -Wrestrict.
    const std::string reason =
        markdown_escape(note.empty() ? text_of(row, "reason") : fmt::format("{} — {}", text_of(row, "reason"), note));
    rows += fmt::format("| {} | `{}/{}` | {} | {} |\n", verdict == "fail" ? "❌" : "⚠️",
                        code_span_text(text_of(row, "category")), code_span_text(text_of(row, "scenario")),
                        markdown_escape(text_of(row, "level")), reason);
  }
  if (!rows.empty()) out += "\n| | scenario | level | what the proxy did |\n| --- | --- | --- | --- |\n" + rows;
  return out;
}

}  // namespace upfault
