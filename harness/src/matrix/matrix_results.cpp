// A proxy's results file (results/NAME.json) read back for the page: the file may come from any
// machine (CI runs one matrix job per proxy), so everything in it is checked before it is used,
// and a file of another scenario set is refused with the scenario that differs.
#include <fmt/format.h>
#include <boost/json.hpp>

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <map>

#include "base/bounded_input.hpp"
#include "base/json_fields.hpp"
#include "base/util.hpp"
#include "upfault/matrix.hpp"
#include "upfault/repeat.hpp"
#include "upfault/report.hpp"

namespace upfault {

namespace json = boost::json;

namespace {

// Reads the fields of a results file, keeping the first problem found: a results file is input a
// user can get wrong, so no exception; each step stops once there is a problem.
struct Reader {
  std::string why;  ///< the first problem; "" while there is none
  [[nodiscard]] bool ok() const { return why.empty(); }
  void refuse(std::string message) {
    if (why.empty()) why = std::move(message);
  }

  // An optional string field: "" when absent or null.
  std::string text(const json::object& o, std::string_view key, const std::string& where) {
    const auto* v = o.if_contains(key);
    if (!v || v->is_null()) return "";
    if (v->is_string()) return std::string(v->as_string());
    refuse(fmt::format("{}: \"{}\" must be a string", where, key));
    return "";
  }

  // An optional integer field within [low, high]: nullopt when absent or null.
  std::optional<std::int64_t> integer(const json::object& o, std::string_view key, const std::string& where,
                                      std::int64_t low, std::int64_t high) {
    const auto* v = o.if_contains(key);
    if (!v || v->is_null()) return std::nullopt;
    if (v->is_int64() && v->as_int64() >= low && v->as_int64() <= high) return v->as_int64();
    if (v->is_uint64() && low <= 0 && v->as_uint64() <= static_cast<std::uint64_t>(high))
      return static_cast<std::int64_t>(v->as_uint64());
    refuse(fmt::format("{}: \"{}\" must be an integer from {} to {}", where, key, low, high));
    return std::nullopt;
  }
};

// A path of a config template: relative, inside the profile's directory, of plain characters
// (it becomes a link).
bool inside(const std::string& path) {
  if (path.empty() || path.front() == '/') return false;
  for (char c : path)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-' || c == '/')) return false;
  std::size_t start = 0;
  while (start <= path.size()) {
    const auto end = std::min(path.find('/', start), path.size());
    if (end == start || path.compare(start, end - start, "..") == 0) return false;
    start = end + 1;
  }
  return true;
}

void read_config(Reader& in, const json::value* c, ProxyColumn& out, const std::string& where) {
  if (!c || c->is_null()) return;
  if (!c->is_array()) return in.refuse(fmt::format("{}: \"config\" must be an array of paths", where));
  for (const auto& e : c->as_array()) {
    if (!e.is_string() || !inside(std::string(e.as_string())))
      return in.refuse(fmt::format("{}: \"config\" must hold paths inside the profile's directory", where));
    out.config.emplace_back(e.as_string());
  }
}

// `repeat`: {runs, completed}, when the results are of `--repeat N` (2 <= N <= kMaxRepeat).
void read_repeat(Reader& in, const json::object& root, ProxyColumn& out, const std::string& file) {
  const auto* r = root.if_contains("repeat");
  if (!r || r->is_null()) return;
  if (!r->is_object()) return in.refuse(fmt::format("{}: \"repeat\" must be an object: {{runs, completed}}", file));
  JsonFields f;
  const auto where = file + ": repeat";
  const auto runs = f.count(r->as_object(), "runs", where, kMaxRepeat);
  const auto completed = f.count(r->as_object(), "completed", where, runs);
  if (f.ok() && runs < 2) f.fail(where, "runs", "is below 2: one run repeats nothing");
  if (!f.ok()) return in.refuse(f.error);
  out.repeat = static_cast<unsigned>(runs);
  out.repeat_completed = static_cast<unsigned>(completed);
}

// A cell's `runs` (with --repeat, where its outcome varied): each outcome's verdict, reason and
// count; the counts add up to at most the file's repeat.runs, and the cell's verdict is one of them.
void read_runs(Reader& in, const json::object& o, MatrixCell& c, unsigned repeat, const std::string& where) {
  if (const auto* u = o.if_contains("unstable"); u && !u->is_bool())
    return in.refuse(fmt::format("{}: \"unstable\" must be true or false", where));
  const auto* list = o.if_contains("runs");
  if (!list || list->is_null()) return;
  if (repeat < 2)
    return in.refuse(fmt::format("{}: \"runs\" in a file without \"repeat\": the outcomes of one run", where));
  if (!list->is_array() || list->as_array().empty() || list->as_array().size() > kMaxRunOutcomes)
    return in.refuse(fmt::format("{}: \"runs\" must be an array of 1 to {} outcomes", where, kMaxRunOutcomes));
  JsonFields f;
  std::uint64_t total = 0;
  for (std::size_t i = 0; i < list->as_array().size() && f.ok(); ++i) {
    const auto at = fmt::format("{}: runs[{}]", where, i);
    const auto* e = list->as_array()[i].if_object();
    if (!e) return in.refuse(at + " is not an object");
    const auto verdict = verdict_named(f.text(*e, "verdict", at));
    if (f.ok() && !verdict) f.fail(at, "verdict", "is not pass, stricter, fail, error or not-run");
    auto reason = f.text(*e, "reason", at);
    const auto n = f.count(*e, "count", at, repeat);
    if (f.ok() && n == 0) f.fail(at, "count", "is 0: an outcome no run gave");
    if (f.ok()) c.runs.push_back({*verdict, std::move(reason), static_cast<unsigned>(n)}), total += n;
  }
  if (!f.ok()) return in.refuse(f.error);
  if (total > repeat)
    return in.refuse(
        fmt::format("{}: its runs add up to {}, more than the {} runs of \"repeat\"", where, total, repeat));
  if (std::none_of(c.runs.begin(), c.runs.end(), [&](const RunOutcome& r) { return r.verdict == c.verdict; }))
    return in.refuse(fmt::format("{}: verdict {} is none of its runs' verdicts", where, to_string(c.verdict)));
}

void read_proxy(Reader& in, const json::object& root, ProxyColumn& out, const std::string& file) {
  const auto* p = root.if_contains("proxy");
  if (!p || !p->is_object()) return in.refuse(fmt::format("{}: \"proxy\" must be an object", file));
  const auto& o = p->as_object();
  const auto where = file + ": proxy";
  out.proxy.name = in.text(o, "name", where);
  if (in.ok() && out.proxy.name.empty()) in.refuse(fmt::format("{}: the proxy has no name", file));
  out.proxy.version = in.text(o, "version", where);
  out.proxy.url = in.text(o, "url", where);
  out.profile = in.text(o, "profile", where);
  if (!out.profile.empty() && !valid_name(out.profile))
    in.refuse(fmt::format("{}: profile \"{}\" is not a profile name", where, safe_text(out.profile, false)));
  out.died = in.text(o, "died", where);
  read_config(in, o.if_contains("config"), out, where);
  out.date = in.text(root, "date", file);
  read_repeat(in, root, out, file);
  if (const auto* s = root.if_contains("summary"); s && s->is_object())
    if (const auto* w = s->as_object().if_contains("wall_seconds"); w && w->is_number())
      out.wall_seconds = std::clamp(w->to_number<double>(), 0.0, 1e9);
}

MatrixCell read_cell(Reader& in, const json::object& o, const Scenario& s, unsigned repeat, const std::string& where) {
  MatrixCell c;
  c.scenario = &s;
  if (const auto level = in.text(o, "level", where); !level.empty() && level != to_string(s.level))
    in.refuse(fmt::format("{}: level {} here, {} in the suite: results of another version of the scenario", where,
                          safe_text(level, false), to_string(s.level)));
  const auto verdict = in.text(o, "verdict", where);
  if (auto v = verdict_named(verdict))
    c.verdict = *v;
  else
    in.refuse(fmt::format("{}: \"verdict\" must be pass, stricter, fail, error or not-run, not \"{}\"", where,
                          safe_text(verdict, false)));
  c.reason = in.text(o, "reason", where);
  if (auto st = in.integer(o, "status", where, 0, 999)) c.status = static_cast<int>(*st);
  c.ended = in.text(o, "ended", where);
  c.bytes = static_cast<std::uint64_t>(in.integer(o, "bytes_received", where, 0, INT64_MAX).value_or(0));
  if (const auto* up = o.if_contains("upstream"); up && up->is_object())
    c.upstream_requests = static_cast<int>(in.integer(up->as_object(), "requests", where, 0, 1 << 30).value_or(0));
  c.crash = in.text(o, "proxy_crash", where);
  if (const auto* earlier = o.if_contains("earlier"); earlier && earlier->is_array())
    for (const auto& e : earlier->as_array()) {
      if (!e.is_object()) continue;
      const auto ended = in.text(e.as_object(), "ended", where + ": earlier");
      const auto status = in.integer(e.as_object(), "status", where + ": earlier", 0, 999);
      if (ended == "closed-early" || ended == "reset" || ended == "timed-out" ||
          (ended == "complete" && status && *status >= 500))
        c.earlier_error = true;
    }
  if (in.ok()) read_runs(in, o, c, repeat, where);
  return c;
}

// "a", "b", "c" and 2 more.
std::string some(const std::vector<std::string>& names) {
  std::string out;
  for (std::size_t i = 0; i < names.size() && i < 5; ++i)
    out += fmt::format("{}\"{}\"", i ? ", " : "", safe_text(names[i], false));
  if (names.size() > 5) out += fmt::format(" and {} more", names.size() - 5);
  return out;
}

void read_cells(Reader& in, const json::object& root, const std::vector<Scenario>& suite, ProxyColumn& out,
                const std::string& file) {
  const auto* list = root.if_contains("results");
  if (!list || !list->is_array()) return in.refuse(fmt::format("{}: \"results\" must be an array", file));
  std::map<std::string_view, std::size_t> index;
  for (std::size_t i = 0; i < suite.size(); ++i) index.emplace(suite[i].name, i);
  std::vector<std::optional<MatrixCell>> cells(suite.size());
  std::vector<std::string> unknown;
  for (const auto& r : list->as_array()) {
    if (!r.is_object()) return in.refuse(fmt::format("{}: each result must be an object", file));
    const auto name = in.text(r.as_object(), "scenario", file + ": a result");
    const auto it = index.find(name);
    if (it == index.end()) {
      unknown.push_back(name);
      continue;
    }
    if (cells[it->second])
      return in.refuse(fmt::format("{}: scenario \"{}\" has two results", file, safe_text(name, false)));
    cells[it->second] =
        read_cell(in, r.as_object(), suite[it->second], out.repeat, fmt::format("{}: scenario \"{}\"", file, name));
    if (!in.ok()) return;
  }
  std::vector<std::string> missing;
  for (std::size_t i = 0; i < suite.size(); ++i)
    if (!cells[i]) missing.push_back(suite[i].name);
  if (!unknown.empty() || !missing.empty())
    return in.refuse(fmt::format("{}: results of a different scenario set: {}{}{}", file,
                                 unknown.empty() ? "" : fmt::format("not in the suite: {}", some(unknown)),
                                 unknown.empty() || missing.empty() ? "" : "; ",
                                 missing.empty() ? "" : fmt::format("missing from the file: {}", some(missing))));
  for (auto& c : cells) out.cells.push_back(std::move(*c));
}

}  // namespace

Result<ProxyColumn> parse_results(std::string_view text, const std::vector<Scenario>& suite, const std::string& file) {
  boost::system::error_code ec;
  json::parse_options options;
  options.max_depth = 16;  // a results file nests 4 deep; anything deeper is not one
  const auto root = json::parse(text, ec, {}, options);
  if (ec) return problem(fmt::format("{}: not a results file: {}", file, ec.message()));
  const auto* obj = root.if_object();
  const auto* schema = obj ? obj->if_contains("schema") : nullptr;
  if (!schema || !schema->is_string() || schema->as_string() != "upfault-run/1")
    return problem(fmt::format(
        "{}: not a results file of schema upfault-run/1 (as upfault matrix and upfault run "
        "--json write them){}",
        file,
        schema && schema->is_string() ? fmt::format(": its schema is \"{}\"", safe_text(schema->as_string(), false))
                                      : ""));
  ProxyColumn out;
  Reader in;
  read_proxy(in, *obj, out, file);
  if (in.ok()) read_cells(in, *obj, suite, out, file);
  if (!in.ok()) return problem(safe_text(in.why, false));
  return out;
}

Result<ProxyColumn> load_results(const std::filesystem::path& file, const std::vector<Scenario>& suite) {
  auto text = read_bounded(file, kMaxResultsFile);
  if (!text) return text.error().prefixed(file.string() + ": ");
  return parse_results(*text, suite, file.string());
}

}  // namespace upfault
