// The JUnit file and the Markdown summary, made from the JSON report (report.hpp): one source
// for a run's files, whether the report is a run's own or merged from shards (upfault merge).
#include <fmt/format.h>
#include <boost/json.hpp>

#include <algorithm>
#include <optional>

#include "base/util.hpp"
#include "upfault/baseline.hpp"
#include "upfault/http.hpp"
#include "upfault/report.hpp"

namespace upfault {

namespace json = boost::json;

std::string text_of(const json::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  return v && v->is_string() ? std::string(v->as_string()) : std::string();
}

std::string proxy_label(const json::object& report) {
  const auto* p = report.if_contains("proxy");
  if (!p || !p->is_object()) return "";
  const auto name = text_of(p->as_object(), "name"), version = text_of(p->as_object(), "version");
  return version.empty() ? name : fmt::format("{} {}", name, version);
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

// Why nothing was judged (the proxy could not be started, or pre-flight found routes to fix), or "".
std::string setup_error_of(const json::object& report) {
  const auto* e = report.if_contains("setup_error");
  return e && e->is_string() ? std::string(e->as_string()) : std::string();
}

// Text inside a Markdown code span, where no escape works: one line, no backtick or column bar.
std::string code_span_text(std::string_view raw) {
  std::string s = safe_text(raw, false);
  for (auto& c : s)
    if (c == '`' || c == '|') c = '_';
  return s;
}

// A row's outcomes over --repeat ("runs"), as upfault writes them; what is not is left out.
std::vector<RunOutcome> runs_of(const json::object& row) {
  std::vector<RunOutcome> out;
  const auto* list = row.if_contains("runs");
  if (!list || !list->is_array()) return out;
  for (const auto& e : list->as_array()) {
    const auto* o = e.if_object();
    const auto* count = o ? o->if_contains("count") : nullptr;
    const auto verdict = o ? verdict_named(text_of(*o, "verdict")) : std::nullopt;
    if (!verdict || !count || !count->is_number()) continue;
    const double n = number_of(*o, "count");
    if (n >= 1 && n <= 1e6) out.push_back({*verdict, text_of(*o, "reason"), static_cast<unsigned>(n)});
  }
  return out;
}

// What a row's runs say, for a JUnit message or a summary row: "varied: pass 3/5, fail 2/5 (fail
// 2/5: …; pass 3/5: …)", or "fail 5/5 in 2 ways (…)" where only the reasons varied; "" after one run.
std::string runs_text(const json::object& row) {
  const auto runs = runs_of(row);
  if (runs.empty()) return "";
  unsigned total = 0;
  for (const auto& o : runs) total += o.count;
  std::string each;
  for (const auto& o : runs)
    each += fmt::format("{}{} {}/{}: {}", each.empty() ? "" : "; ", to_string(o.verdict), o.count, total, o.reason);
  if (verdict_varied(runs)) return fmt::format("varied: {} ({})", distribution_text(runs), each);
  return fmt::format("{} {}/{} in {} ways ({})", to_string(runs.front().verdict), total, total, runs.size(), each);
}

bool unstable_row(const json::object& row) {
  const auto* u = row.if_contains("unstable");
  return u && u->is_bool() && u->as_bool();
}

std::string seconds_of(const json::object& row) { return fmt::format("{:.3f}", number_of(row, "elapsed_ms") / 1000.0); }

// How a row stands against the report's baseline: nullopt when the report holds none (a row's
// own field counts only under the report's "baseline" block, which upfault itself adds).
std::optional<BaselineStatus> held(const json::object& report, const json::object& row) {
  const auto* block = report.if_contains("baseline");
  if (!block || !block->is_object()) return std::nullopt;
  return baseline_status_named(text_of(row, "baseline"));
}

// What the baseline says of a row: what it records and what the scenario does now.
std::string baseline_phrase(BaselineStatus s, const json::object& row) {
  const auto was = text_of(row, "baseline_recorded"), now = baseline_outcome(row);
  switch (s) {
    case BaselineStatus::known: return fmt::format("known failure (the baseline records {})", was);
    case BaselineStatus::new_failure:
      return was.empty() ? fmt::format("new failure (not in the baseline, so it must pass; now {})", now)
                         : fmt::format("new failure (the baseline records {}, now {})", was, now);
    case BaselineStatus::fixed:
      return fmt::format("fixed (the baseline records {}, now {}: record the baseline again with --write-baseline)",
                         was, now);
    case BaselineStatus::changed: return fmt::format("changed (the baseline records {}, now {})", was, now);
    case BaselineStatus::error: return "setup error (never a known outcome)";
    case BaselineStatus::dropped:
      return fmt::format(
          "dropped (the baseline records {}, but it was not run: give the proxy its upstream protocol "
          "again, or record the baseline again with --write-baseline)",
          was);
    default: return "";
  }
}

// The element a testcase holds: <failure>, <error>, <skipped>, or none (passed).
enum class CaseKind { passed, failure, error, skipped };
CaseKind case_kind(const json::object& report, const json::object& row) {
  const auto verdict = text_of(row, "verdict");
  if (unstable_row(row)) return CaseKind::failure;  // as the run's exit status: a changed verdict fails
  if (held(report, row) == BaselineStatus::dropped) return CaseKind::failure;  // coverage the baseline holds, lost
  if (verdict == "not-run") return CaseKind::skipped;
  if (verdict != "pass" && verdict != "stricter" && verdict != "fail") return CaseKind::error;
  if (const auto s = held(report, row)) {  // against a baseline, only a change fails
    if (*s == BaselineStatus::known) return CaseKind::skipped;
    return is_change(*s) ? CaseKind::failure : CaseKind::passed;
  }
  return verdict == "fail" ? CaseKind::failure : CaseKind::passed;
}

struct CaseCounts {
  int tests = 0, failures = 0, errors = 0, skipped = 0;
  void add(CaseKind k) {
    ++tests;
    failures += k == CaseKind::failure, errors += k == CaseKind::error, skipped += k == CaseKind::skipped;
  }
  [[nodiscard]] std::string attributes() const {
    return fmt::format("tests=\"{}\" failures=\"{}\" errors=\"{}\" skipped=\"{}\"", tests, failures, errors, skipped);
  }
};

std::string testcase(const json::object& report, const json::object& row) {
  const auto verdict = text_of(row, "verdict"), note = text_of(row, "note");
  const auto status = held(report, row);
  const std::string said = status ? baseline_phrase(*status, row) : "";
  const std::string varied = runs_text(row);
  const std::string why = varied.empty() ? text_of(row, "reason") : varied;
  const std::string reason = said.empty() ? why : fmt::format("{}: {}", said, why);
  std::string out =
      fmt::format("    <testcase classname=\"{}\" name=\"{}\" time=\"{}\">\n", markup_escape(text_of(row, "category")),
                  markup_escape(text_of(row, "scenario")), seconds_of(row));
  const std::string detail =
      markup_escape(fmt::format("[{}] {} ({})\n{}{}{}", text_of(row, "level"), text_of(row, "summary"),
                                text_of(row, "rfc"), reason, note.empty() ? "" : "\n", note));
  switch (case_kind(report, row)) {
    case CaseKind::failure:
      out += fmt::format("      <failure message=\"{}\" type=\"{}\">{}</failure>\n", markup_escape(reason),
                         markup_escape(text_of(row, "level")), detail);
      break;
    case CaseKind::skipped: out += fmt::format("      <skipped message=\"{}\"/>\n", markup_escape(reason)); break;
    case CaseKind::error:
      out += fmt::format("      <error message=\"{}\" type=\"error\">{}</error>\n", markup_escape(reason), detail);
      break;
    case CaseKind::passed: break;
  }
  out += fmt::format("      <system-out>verdict: {}\n{}\nthe proxy sent {} bytes: {}</system-out>\n",
                     markup_escape(verdict), markup_escape(reason),
                     static_cast<long long>(number_of(row, "bytes_received")),
                     markup_escape(text_of(row, "received_preview")));
  return out + "    </testcase>\n";
}

// A table cell for an outcome: a code span, or what stands for none.
std::string outcome_cell(std::string_view outcome) {
  return outcome.empty() ? std::string("not in the baseline") : fmt::format("`{}`", code_span_text(outcome));
}

// "### Changes against the baseline", which leads a summary held to one: each change with what
// the baseline records and what the scenario does now; "" without a baseline.
std::string changes_section(const json::object& report) {
  const auto* block = report.if_contains("baseline");
  if (!block || !block->is_object()) return "";
  const auto& b = block->as_object();
  const auto* with = b.if_contains("recorded_with");
  const auto against = with && with->is_object() ? text_of(with->as_object(), "proxy") : "";
  const auto by = with && with->is_object() ? text_of(with->as_object(), "upfault") : "";
  std::string rows;
  int changes = 0, known = 0;
  for (const auto& r : rows_of(report)) {
    const auto& row = r.as_object();
    const auto s = held(report, row);
    known += s == BaselineStatus::known;
    if (!s || !is_change(*s)) continue;
    ++changes;
    const char* mark = *s == BaselineStatus::fixed     ? "✅ fixed"
                       : *s == BaselineStatus::error   ? "⚠️ error"
                       : *s == BaselineStatus::changed ? "🔄 changed"
                       : *s == BaselineStatus::dropped ? "🚫 dropped (not run)"
                                                       : "❌ new failure";
    rows += fmt::format("| {} | `{}/{}` | {} | {} | {} |\n", mark, code_span_text(text_of(row, "category")),
                        code_span_text(text_of(row, "scenario")), outcome_cell(text_of(row, "baseline_recorded")),
                        outcome_cell(baseline_outcome(row)), markdown_escape(text_of(row, "reason")));
  }
  std::string out = fmt::format("\n### Changes against the baseline\n\n`{}`{}{}: ", code_span_text(text_of(b, "file")),
                                against.empty() ? "" : fmt::format(", recorded against {}", markdown_escape(against)),
                                by.empty() ? "" : fmt::format(" with upfault {}", markdown_escape(by)));
  if (!against.empty() && against != proxy_label(report))
    out += fmt::format("this run is through {}. ", markdown_escape(proxy_label(report)));
  if (changes == 0)
    return out + fmt::format("**no change**: every scenario does what it records ({} known failure{}).\n", known,
                             known == 1 ? "" : "s");
  return out + fmt::format(
                   "**{} change{}**: the run fails until each is fixed, or the baseline recorded again "
                   "(`--write-baseline`).\n\n| | scenario | the baseline records | now | what the proxy did |\n"
                   "| --- | --- | --- | --- | --- |\n{}",
                   changes, changes == 1 ? "" : "s", rows);
}

}  // namespace

std::string junit_from_report(const json::object& report) {
  const auto& rows = rows_of(report);
  std::vector<std::string> categories;  // in first-seen order
  CaseCounts all;
  for (const auto& r : rows) {
    const auto c = text_of(r.as_object(), "category");
    if (std::find(categories.begin(), categories.end(), c) == categories.end()) categories.push_back(c);
    all.add(case_kind(report, r.as_object()));
  }
  const auto* summary = report.if_contains("summary");
  const double wall = summary && summary->is_object() ? number_of(summary->as_object(), "wall_seconds") : 0;
  const std::string setup = setup_error_of(report);
  if (!setup.empty()) all.add(CaseKind::error);
  std::string out =
      fmt::format("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"upfault\" {} time=\"{:.3f}\">\n",
                  all.attributes(), wall);
  // A run that never judged a scenario is one error, not an empty (green) file.
  if (!setup.empty())
    out += fmt::format(
        "  <testsuite name=\"setup\" tests=\"1\" failures=\"0\" errors=\"1\" skipped=\"0\" time=\"0.000\">\n"
        "    <testcase classname=\"setup\" name=\"setup\" time=\"0.000\">\n      <error message=\"{}\">{}</error>\n"
        "    </testcase>\n  </testsuite>\n",
        markup_escape(setup.substr(0, setup.find('\n'))), markup_escape(setup));
  const auto* proxy = report.if_contains("proxy");
  const std::string url = proxy && proxy->is_object() ? text_of(proxy->as_object(), "url") : "";
  const std::string incomplete = cut_short(report);
  const std::string properties = fmt::format(
      "<property name=\"proxy\" value=\"{}\"/><property name=\"url\" value=\"{}\"/>{}",
      markup_escape(proxy_label(report)), markup_escape(url),
      incomplete.empty() ? "" : fmt::format("<property name=\"incomplete\" value=\"{}\"/>", markup_escape(incomplete)));
  for (const auto& category : categories) {
    CaseCounts t;
    double ms = 0;
    std::string cases;
    for (const auto& r : rows) {
      const auto& row = r.as_object();
      if (text_of(row, "category") != category) continue;
      t.add(case_kind(report, row));
      ms += number_of(row, "elapsed_ms");
      cases += testcase(report, row);
    }
    out += fmt::format("  <testsuite name=\"{}\" {} time=\"{:.3f}\">\n    <properties>{}</properties>\n",
                       markup_escape(category), t.attributes(), ms / 1000.0, properties);
    out += cases + "  </testsuite>\n";
  }
  return out + "</testsuites>\n";
}

std::string summary_from_report(const json::object& report) {
  Tally t;
  int known = 0;
  for (const auto& r : rows_of(report)) {
    t.add_row(r.as_object());
    known += held(report, r.as_object()) == BaselineStatus::known;
  }
  const auto* summary = report.if_contains("summary");
  const double wall = summary && summary->is_object() ? number_of(summary->as_object(), "wall_seconds") : 0;
  const std::string changes = changes_section(report);
  std::string out =
      fmt::format("## upfault: {}\n{}{}\n**{} passed, {} failed**", markdown_escape(proxy_label(report)), changes,
                  changes.empty() ? "" : "\n### All results\n", t.pass + t.stricter, t.fail + t.error);
  if (known) out += fmt::format(" ({} known failure{}, as the baseline records)", known, known == 1 ? "" : "s");
  if (t.stricter) out += fmt::format(" ({} stricter than required)", t.stricter);
  if (t.error) out += fmt::format(" ({} harness error{})", t.error, t.error == 1 ? "" : "s");
  if (t.not_run) out += fmt::format(" ({} not run: an upstream protocol the proxy lacks)", t.not_run);
  if (t.unstable)
    out +=
        fmt::format(" ({} unstable: the verdict changed from run to run, each counted as its worst run)", t.unstable);
  out += fmt::format(" in {:.1f} s", wall);
  if (const auto* repeat = report.if_contains("repeat"); repeat && repeat->is_object())
    out += fmt::format(" over {} runs", static_cast<long long>(number_of(repeat->as_object(), "completed")));
  out += "\n";
  if (const auto incomplete = cut_short(report); !incomplete.empty())
    out += fmt::format("\n**Incomplete:** {}.\n", markdown_escape(incomplete));
  if (const auto setup = setup_error_of(report); !setup.empty()) {
    out += "\n**❗ Nothing was judged, a setup error:**\n\n";
    for (std::size_t at = 0; at <= setup.size();) {
      const auto end = std::min(setup.find('\n', at), setup.size());
      out += fmt::format("> {}\n", markdown_escape(setup.substr(at, end - at)));
      at = end + 1;
    }
  }
  std::string rows;
  for (const auto& r : rows_of(report)) {
    const auto& row = r.as_object();
    const auto verdict = text_of(row, "verdict");
    const bool unstable = unstable_row(row);
    if (!unstable && (verdict == "pass" || verdict == "stricter" || verdict == "not-run")) continue;
    const auto note = text_of(row, "note");
    const auto varied = runs_text(row);
    const auto why = varied.empty() ? text_of(row, "reason") : varied;
    // fmt, not operator+: GCC 12 at -O3 flags `"…" + std::string` with a false -Wrestrict.
    const std::string reason = markdown_escape(note.empty() ? why : fmt::format("{} — {}", why, note));
    const char* mark = unstable                                     ? "🎲 unstable"
                       : verdict != "fail"                          ? "⚠️"
                       : held(report, row) == BaselineStatus::known ? "🟨 known failure"
                                                                    : "❌";
    rows += fmt::format("| {} | `{}/{}` | {} | {} |\n", mark, code_span_text(text_of(row, "category")),
                        code_span_text(text_of(row, "scenario")), markdown_escape(text_of(row, "level")), reason);
  }
  if (!rows.empty()) out += "\n| | scenario | level | what the proxy did |\n| --- | --- | --- | --- |\n" + rows;
  return out;
}

}  // namespace upfault
