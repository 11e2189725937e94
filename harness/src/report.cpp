#include "upfault/report.hpp"

#include <fmt/format.h>
#include <unistd.h>
#include <boost/json.hpp>

#include <algorithm>
#include <cstdlib>

#include "upfault/http.hpp"
#include "util.hpp"

namespace upfault {

namespace json = boost::json;

void Tally::add(VerdictKind k) {
  switch (k) {
    case VerdictKind::pass: ++pass; break;
    case VerdictKind::stricter: ++stricter; break;
    case VerdictKind::fail: ++fail; break;
    case VerdictKind::error: ++error; break;
  }
}

std::string Tally::line() const {
  std::string s = fmt::format("{} passed, {} failed", pass + stricter, fail + error);
  if (stricter || error) {
    std::string detail;
    if (stricter) detail += fmt::format("{} stricter than required", stricter);
    if (error) detail += fmt::format("{}{} error{}", detail.empty() ? "" : ", ", error, error == 1 ? "" : "s");
    s += fmt::format("\n({})", detail);
  }
  return s;
}

bool want_colour(std::FILE* out) {
  const char* no = std::getenv("NO_COLOR");
  return (!no || !*no) && isatty(fileno(out));
}

std::string format_result(const ScenarioResult& r, bool colour, bool verbose) {
  const char* code = "";
  switch (r.verdict.kind) {
    case VerdictKind::pass: code = "32"; break;
    case VerdictKind::stricter: code = "36"; break;
    case VerdictKind::fail: code = "31"; break;
    case VerdictKind::error: code = "35"; break;
  }
  std::string label = fmt::format("{:<8}", to_string(r.verdict.kind));
  for (auto& c : label) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  if (colour) label = fmt::format("\x1b[{}m{}\x1b[0m", code, label);
  const Scenario& s = *r.scenario;
  std::string out = fmt::format("{} {}/{} [{}] {}\n", label, safe_text(s.category, false), s.name, to_string(s.level),
                                format_millis(r.client.elapsed));
  bool show = verbose || r.verdict.kind == VerdictKind::fail || r.verdict.kind == VerdictKind::error ||
              r.verdict.kind == VerdictKind::stricter;
  if (show) out += fmt::format("         {}\n", safe_text(r.verdict.reason));
  if (!r.note.empty()) out += fmt::format("         {}\n", safe_text(r.note));
  return out;
}

void print_result(std::FILE* out, const ScenarioResult& r, bool colour, bool verbose) {
  fmt::print(out, "{}", format_result(r, colour, verbose));
}

std::string to_json(const ProxyInfo& proxy, const std::vector<ScenarioResult>& results, double wall_seconds) {
  return to_json(proxy, results, wall_seconds, RunRecord{});
}

std::string to_json(const ProxyInfo& proxy, const std::vector<ScenarioResult>& results, double wall_seconds,
                    const RunRecord& record) {
  json::object root;
  root["schema"] = "upfault-run/1";
  // Every string through safe_text: JSON must be valid UTF-8, whatever a directory is called.
  json::object who{
      {"name", safe_text(proxy.name)}, {"version", safe_text(proxy.version)}, {"url", safe_text(proxy.url)}};
  if (!record.profile.empty()) who["profile"] = safe_text(record.profile);
  if (!record.config.empty()) {
    json::array config;
    for (const auto& c : record.config) config.emplace_back(safe_text(c));
    who["config"] = std::move(config);
  }
  if (!record.died.empty()) who["died"] = safe_text(record.died);
  root["proxy"] = std::move(who);
  if (!record.date.empty()) root["date"] = safe_text(record.date);
  Tally tally;
  json::array list;
  for (const auto& r : results) {
    tally.add(r.verdict.kind);
    const Scenario& s = *r.scenario;
    json::object o;
    o["scenario"] = s.name;
    o["category"] = safe_text(s.category);
    o["level"] = std::string(to_string(s.level));
    o["rfc"] = safe_text(s.rfc);
    o["verdict"] = std::string(to_string(r.verdict.kind));
    o["reason"] = safe_text(r.verdict.reason);
    if (!r.note.empty()) o["note"] = safe_text(r.note);
    if (!r.proxy_crash.empty()) o["proxy_crash"] = safe_text(r.proxy_crash);
    if (r.client.response && r.client.header_complete)
      o["status"] = r.client.response->status;
    else
      o["status"] = nullptr;
    o["ended"] = std::string(to_string(r.client.ending));
    o["elapsed_ms"] = r.client.elapsed.count();
    o["bytes_received"] = r.client.raw_total;
    o["received_preview"] = printable(r.client.raw, 200);
    if (r.client.after_total > 0) o["after_response_preview"] = printable(r.client.after, 200);
    if (!r.client.earlier.empty()) {
      json::array earlier;
      for (const auto& e : r.client.earlier) {
        json::object o2{{"request", e.request},
                        {"status", e.header_complete ? json::value(e.response->status) : json::value(nullptr)},
                        {"ended", std::string(to_string(e.ending))}};
        if (e.after_total > 0) o2["after_response_preview"] = printable(e.after, 200);
        earlier.push_back(std::move(o2));
      }
      o["earlier"] = std::move(earlier);
      o["client_connections"] = r.client.connections;
    }
    o["upstream"] = {{"connections", r.upstream.connection_count()}, {"requests", r.upstream.requests()}};
    list.push_back(std::move(o));
  }
  root["summary"] = {{"total", tally.total()}, {"pass", tally.pass},   {"stricter", tally.stricter},
                     {"fail", tally.fail},     {"error", tally.error}, {"wall_seconds", wall_seconds}};
  root["results"] = std::move(list);
  return json::serialize(root) + "\n";
}

namespace {

std::string seconds(Millis ms) { return fmt::format("{:.3f}", static_cast<double>(ms.count()) / 1000.0); }

}  // namespace

std::string to_junit(const ProxyInfo& proxy, const std::vector<ScenarioResult>& results, double wall_seconds) {
  // Categories in first-seen order.
  std::vector<std::string> categories;
  for (const auto& r : results)
    if (std::find(categories.begin(), categories.end(), r.scenario->category) == categories.end())
      categories.push_back(r.scenario->category);
  Tally all;
  for (const auto& r : results) all.add(r.verdict.kind);
  std::string out = fmt::format(
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
      "<testsuites name=\"upfault\" tests=\"{}\" failures=\"{}\" errors=\"{}\" skipped=\"0\" time=\"{:.3f}\">\n",
      all.total(), all.fail, all.error, wall_seconds);
  const std::string target = markup_escape(proxy.version.empty() ? proxy.name : proxy.name + " " + proxy.version);
  for (const auto& category : categories) {
    Tally t;
    Millis time{0};
    for (const auto& r : results)
      if (r.scenario->category == category) t.add(r.verdict.kind), time += r.client.elapsed;
    out +=
        fmt::format("  <testsuite name=\"{}\" tests=\"{}\" failures=\"{}\" errors=\"{}\" skipped=\"0\" time=\"{}\">\n",
                    markup_escape(category), t.total(), t.fail, t.error, seconds(time));
    out += fmt::format(
        "    <properties><property name=\"proxy\" value=\"{}\"/><property name=\"url\" value=\"{}\"/></properties>\n",
        target, markup_escape(proxy.url));
    for (const auto& r : results) {
      if (r.scenario->category != category) continue;
      const auto& s = *r.scenario;
      out += fmt::format("    <testcase classname=\"{}\" name=\"{}\" time=\"{}\">\n", markup_escape(category),
                         markup_escape(s.name), seconds(r.client.elapsed));
      const std::string detail = markup_escape(fmt::format("[{}] {} ({})\n{}{}{}", to_string(s.level), s.summary, s.rfc,
                                                           r.verdict.reason, r.note.empty() ? "" : "\n", r.note));
      if (r.verdict.kind == VerdictKind::fail)
        out += fmt::format("      <failure message=\"{}\" type=\"{}\">{}</failure>\n", markup_escape(r.verdict.reason),
                           to_string(s.level), detail);
      else if (r.verdict.kind == VerdictKind::error)
        out += fmt::format("      <error message=\"{}\" type=\"error\">{}</error>\n", markup_escape(r.verdict.reason),
                           detail);
      out += fmt::format("      <system-out>verdict: {}\n{}\nthe proxy sent {} bytes: {}</system-out>\n",
                         to_string(r.verdict.kind), markup_escape(r.verdict.reason), r.client.raw_total,
                         markup_escape(printable(r.client.raw, 2000)));
      out += "    </testcase>\n";
    }
    out += "  </testsuite>\n";
  }
  out += "</testsuites>\n";
  return out;
}

std::string to_markdown_summary(const ProxyInfo& proxy, const std::vector<ScenarioResult>& results,
                                double wall_seconds) {
  Tally t;
  for (const auto& r : results) t.add(r.verdict.kind);
  std::string out = fmt::format("## upfault: {}{}{}\n\n**{} passed, {} failed**", safe_text(proxy.name, false),
                                proxy.version.empty() ? "" : " ", safe_text(proxy.version, false), t.pass + t.stricter,
                                t.fail + t.error);
  if (t.stricter) out += fmt::format(" ({} stricter than required)", t.stricter);
  if (t.error) out += fmt::format(" ({} harness error{})", t.error, t.error == 1 ? "" : "s");
  out += fmt::format(" in {:.1f} s\n", wall_seconds);
  std::string rows;
  for (const auto& r : results) {
    if (r.verdict.kind != VerdictKind::fail && r.verdict.kind != VerdictKind::error) continue;
    // fmt, not operator+: GCC 12 at -O3 flags `"…" + std::string` with a false -Wrestrict.
    std::string reason =
        safe_text(r.note.empty() ? r.verdict.reason : fmt::format("{} — {}", r.verdict.reason, r.note), false);
    for (auto& c : reason)
      if (c == '|' || c == '\n') c = ' ';
    rows += fmt::format("| {} | `{}/{}` | {} | {} |\n", r.verdict.kind == VerdictKind::fail ? "❌" : "⚠️",
                        safe_text(r.scenario->category, false), r.scenario->name, to_string(r.scenario->level), reason);
  }
  if (!rows.empty()) out += "\n| | scenario | level | what the proxy did |\n| --- | --- | --- | --- |\n" + rows;
  return out;
}

}  // namespace upfault
