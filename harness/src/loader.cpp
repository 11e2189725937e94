// Scenario loading and validation. Every problem becomes a LoadError with file:line:col;
// a file with errors yields no scenario, and never stops the other files from loading.
#include "upfault/loader.hpp"

#include <algorithm>
#include <fmt/format.h>
#include <map>
#include <set>
#include <toml++/toml.h>

#include "upfault/http.hpp"
#include "bounded_input.hpp"
#include "pattern.hpp"
#include "scenario_toml.hpp"
#include "steps/step.hpp"
#include "util.hpp"

namespace upfault {

namespace fs = std::filesystem;

std::string LoadError::str() const { return safe_text(fmt::format("{}: error: {}", where.str(), message), false); }

namespace {

std::shared_ptr<const StepAction> load_action(FileContext& cx, const toml::node& n) {
  auto* t = n.as_table();
  if (!t) {
    cx.error(n, "each [[upstream.steps]] entry must be a table");
    return nullptr;
  }
  std::vector<std::string_view> names;
  for (const auto* d : step_registry()) names.push_back(d->key);
  const std::size_t actions = t->size() - (t->contains("on_request") ? 1 : 0);
  if (actions != 1) {
    cx.error(n, fmt::format("a step has exactly one action, one of: {} (this one has {})", fmt::join(names, ", "),
                            actions));
    return nullptr;
  }
  auto it = t->begin();
  if (it->first.str() == "on_request") ++it;
  auto&& [key, value] = *it;
  if (const auto* def = find_step(key.str())) return def->parse(cx, value);
  std::string msg = fmt::format("unknown step \"{}\"", key.str());
  if (auto guess = did_you_mean(key.str(), names)) msg += fmt::format("; did you mean \"{}\"?", *guess);
  else msg += fmt::format(" (steps: {})", fmt::join(names, ", "));
  cx.error(cx.at(key.source()), msg);
  return nullptr;
}

// A step: one action, and optionally on_request = N or [N, …] (the scenario's request indexes).
std::optional<ScriptStep> load_step(FileContext& cx, const toml::node& n) {
  auto action = load_action(cx, n);
  if (!action) return std::nullopt;
  ScriptStep s{std::move(action), {}};
  if (auto* on = n.as_table()->get("on_request")) {
    auto add = [&](const toml::node& v) {
      auto i = integer(v);
      if (!i || *i < 1 || *i > 1000) cx.error(v, "on_request takes request numbers from 1 to 1000");
      else s.on_request.push_back(static_cast<int>(*i));
    };
    if (auto* a = on->as_array()) {
      for (auto&& v : *a) add(v);
    } else {
      add(*on);
    }
  }
  return s;
}

Outcome load_outcome(FileContext& cx, const toml::table& t, bool top) {
  Outcome o;
  o.where = cx.at(t);
  const auto errors_before = cx.errors().size();
  if (top)
    cx.check_keys(t, {"status", "passthrough", "aborted", "within", "not_before", "header_present", "header_absent",
                      "headers", "headers_match", "body", "upstream_requests", "interim", "or", "stricter"},
                  "[expect]");
  else
    cx.check_keys(t, {"status", "passthrough", "aborted", "within", "not_before", "header_present", "header_absent",
                      "headers", "headers_match", "body", "upstream_requests", "interim"},
                  "an outcome");
  if (auto* s = t.get("status")) {
    auto add = [&](const toml::node& v) {
      auto code = integer(v);
      if (!code || *code < 100 || *code > 599) cx.error(v, "status must be an integer from 100 to 599");
      else o.status.push_back(static_cast<int>(*code));
    };
    if (auto* a = s->as_array()) {
      if (a->empty()) cx.error(*s, "status list is empty");
      for (auto&& v : *a) add(v);
    } else {
      add(*s);
    }
  }
  for (auto [key, flag] : {std::pair{"passthrough", &o.passthrough}, std::pair{"aborted", &o.aborted}}) {
    if (auto* n = t.get(key)) {
      if (auto b = n->value<bool>()) *flag = *b;
      else cx.error(*n, fmt::format("{} must be true or false", key));
    }
  }
  if (auto* n = t.get("within")) o.within = cx.duration(*n, "within");
  if (auto* n = t.get("not_before")) o.not_before = cx.duration(*n, "not_before");
  for (auto [key, list] : {std::pair{"header_present", &o.header_present}, std::pair{"header_absent", &o.header_absent}}) {
    if (auto* n = t.get(key)) {
      if (auto* a = n->as_array())
        for (auto&& v : *a) {
          if (auto name = cx.string(v, key)) list->push_back(*name);
        }
      else cx.error(*n, fmt::format("{} must be an array of field names", key));
    }
  }
  if (auto* n = t.get("headers")) o.header_equals = load_headers(cx, *n);
  if (auto* n = t.get("headers_match")) {
    o.header_matches = load_headers(cx, *n);
    for (const auto& [name, pattern] : o.header_matches) {
      if (!cx.another_pattern(*n)) break;
      std::string error;
      if (!Pattern::compile(pattern, error))
        cx.error(*n, fmt::format("headers_match: the pattern for {} is not a valid RE2 regex: {} (/{}/)", name, error,
                                 printable(pattern, 80)));
    }
  }
  if (auto* n = t.get("body")) o.body = cx.string(*n, "body");
  if (auto* n = t.get("upstream_requests")) {
    auto v = integer(n);
    if (!v || *v < 0 || *v > 1000) cx.error(*n, "upstream_requests must be an integer from 0 to 1000");
    else o.upstream_requests = static_cast<int>(*v);
  }
  if (auto* n = t.get("interim")) {
    o.interim.emplace();
    if (auto* a = n->as_array()) {
      for (auto&& v : *a) {
        auto code = integer(v);
        if (!code || *code < 100 || *code > 199) cx.error(v, "interim lists 1xx status codes");
        else o.interim->push_back(static_cast<int>(*code));
      }
    } else {
      cx.error(*n, "interim must be an array of 1xx status codes ([] for none)");
    }
  }
  const bool checks_response = !o.status.empty() || o.passthrough || !o.header_present.empty() ||
                               !o.header_absent.empty() || !o.header_equals.empty() || !o.header_matches.empty() || o.body || o.interim;
  // An unknown key (a typo) already explains a missing check: say it once.
  if (!checks_response && !o.aborted && cx.errors().size() == errors_before)
    cx.error(o.where, "an expectation needs status, passthrough, aborted, or a header/body/interim check");
  if (o.aborted && checks_response)
    cx.error(o.where, "aborted = true contradicts checks of a complete response (status, passthrough, headers, "
                      "body); list the other outcome under [[expect.or]]");
  return o;
}

void validate_steps(FileContext& cx, const Scenario& s, const toml::node& steps_node) {
  bool closed = false;
  for (std::size_t i = 0; i < s.steps.size(); ++i) {
    if (closed) {
      cx.error(*steps_node.as_array()->get(i),
               fmt::format("step {} comes after the connection was closed, so it can never run", i + 1));
      break;
    }
    closed = s.steps[i].on_request.empty() && s.steps[i].action->ends_connection();
  }
}

std::optional<Scenario> load_table(FileContext& cx, const toml::table& root, const std::string& category) {
  Scenario s;
  s.where = {cx.file(), 1, 1};
  s.category = category;
  cx.check_keys(root, {"name", "summary", "rfc", "rationale", "level", "tags", "request", "upstream", "expect"},
                "the scenario");
  auto required_string = [&](const char* key) -> std::string {
    if (auto* n = root.get(key)) return cx.string(*n, key).value_or("");
    cx.error(s.where, fmt::format("missing required key \"{}\"", key));
    return "";
  };
  s.name = required_string("name");
  if (!s.name.empty() && !valid_name(s.name))
    cx.error(*root.get("name"), fmt::format("name \"{}\" may only hold a-z, 0-9, '-', '_' and '.'", s.name));
  s.summary = required_string("summary");
  if (auto* n = root.get("rfc")) s.rfc = cx.string(*n, "rfc").value_or("");
  if (auto* n = root.get("rationale")) s.rationale = cx.string(*n, "rationale").value_or("");
  if (s.rfc.empty() && s.rationale.empty())
    cx.error(s.where, "a scenario needs \"rfc\" (the section it checks) or a \"rationale\" where no RFC speaks");
  if (auto* n = root.get("level")) {
    auto l = n->value<std::string>();
    if (l == "must") s.level = Level::must;
    else if (l == "should") s.level = Level::should;
    else if (l == "may") s.level = Level::may;
    else cx.error(*n, "level must be \"must\", \"should\" or \"may\"");
  } else {
    cx.error(s.where, "missing required key \"level\" (must, should or may)");
  }
  if (auto* n = root.get("tags")) {
    if (auto* a = n->as_array()) {
      for (auto&& v : *a)
        if (auto tag = cx.string(v, "a tag")) s.tags.push_back(*tag);
    } else {
      cx.error(*n, "tags must be an array of strings");
    }
  }

  if (auto* n = root.get("request")) {
    if (auto* t = n->as_table()) {
      cx.check_keys(*t, {"method", "path", "headers", "body", "repeat"}, "[request]");
      if (auto* r = t->get("repeat")) {
        auto v = integer(r);
        if (!v || *v < 1 || *v > 100) cx.error(*r, "repeat must be an integer from 1 to 100");
        else s.request.repeat = static_cast<int>(*v);
      }
      if (auto* m = t->get("method")) s.request.method = cx.string(*m, "method").value_or("GET");
      if (auto* p = t->get("path")) {
        s.request.path = cx.string(*p, "path").value_or("/");
        if (s.request.path.empty() || s.request.path.front() != '/')
          cx.error(*p, "path must start with '/'");
      }
      if (auto* h = t->get("headers")) s.request.headers = load_headers(cx, *h);
      if (auto* b = t->get("body")) s.request.body = cx.string(*b, "body").value_or("");
    } else {
      cx.error(*n, "request must be a table");
    }
  }

  const toml::node* steps_node = nullptr;
  if (auto* n = root.get("upstream")) {
    if (auto* t = n->as_table()) {
      cx.check_keys(*t, {"endpoint", "steps"}, "[upstream]");
      if (auto* e = t->get("endpoint")) {
        auto v = e->value<std::string>();
        static constexpr Endpoint kAll[] = {Endpoint::scripted, Endpoint::refused, Endpoint::blackhole,
                                            Endpoint::accept_close, Endpoint::accept_reset};
        bool known = false;
        for (auto candidate : kAll)
          if (v == to_string(candidate)) s.endpoint = candidate, known = true;
        if (!known)
          cx.error(*e, "endpoint must be \"scripted\", \"refused\", \"blackhole\", \"accept-close\" or \"accept-reset\"");
      }
      if ((steps_node = t->get("steps"))) {
        if (auto* a = steps_node->as_array()) {
          for (auto&& st : *a)
            if (auto step = load_step(cx, st)) s.steps.push_back(std::move(*step));
        } else {
          cx.error(*steps_node, "steps must be an array of tables: [[upstream.steps]]");
        }
      }
    } else {
      cx.error(*n, "upstream must be a table");
    }
  }
  if (s.endpoint == Endpoint::scripted && s.steps.empty() && cx.ok())
    cx.error(s.where, "a scripted upstream needs at least one [[upstream.steps]] entry");
  if (s.endpoint != Endpoint::scripted && !s.steps.empty())
    cx.error(*steps_node, fmt::format("steps never run: the \"{}\" endpoint accepts no request",
                                      to_string(s.endpoint)));
  if (steps_node && cx.ok()) validate_steps(cx, s, *steps_node);

  if (auto* n = root.get("expect")) {
    if (auto* t = n->as_table()) {
      s.expect.accept.push_back(load_outcome(cx, *t, true));
      for (auto [key, list] : {std::pair{"or", &s.expect.accept}, std::pair{"stricter", &s.expect.stricter}}) {
        if (auto* extra = t->get(key)) {
          if (auto* a = extra->as_array(); a && a->is_array_of_tables()) {
            for (auto&& o : *a) list->push_back(load_outcome(cx, *o.as_table(), false));
          } else {
            cx.error(*extra, fmt::format("expect.{} must be an array of tables: [[expect.{}]]", key, key));
          }
        }
      }
    } else {
      cx.error(*n, "expect must be a table");
    }
  } else {
    cx.error(s.where, "missing [expect]: what must the proxy do?");
  }

  // Passthrough compares with what the upstream sends, so that must be a valid response.
  // What the upstream sends in answer to the last request (the one that is judged).
  std::string sent;
  for (const auto& st : s.steps) {
    if (!st.on_request.empty() &&
        std::find(st.on_request.begin(), st.on_request.end(), s.request.repeat) == st.on_request.end())
      continue;
    if (const auto* bytes = st.action->sends()) sent += *bytes;
  }
  s.upstream_response = parse_complete_response(sent);
  for (const auto& list : {&s.expect.accept, &s.expect.stricter}) {
    for (const auto& o : *list) {
      if (!o.passthrough) continue;
      if (!s.upstream_response) {
        cx.error(o.where, "passthrough = true needs the upstream to send one complete, valid response, "
                          "and these steps do not");
      } else if (!o.status.empty() &&
                 std::find(o.status.begin(), o.status.end(), s.upstream_response->status) == o.status.end()) {
        cx.error(o.where, fmt::format("passthrough = true contradicts status: the upstream sends {}",
                                      s.upstream_response->status));
      }
    }
  }
  if (!cx.ok()) return std::nullopt;
  return s;
}
// An error about a whole file, reported at 1:1.
LoadError file_error(const std::filesystem::path& file, std::string message) {
  return make_load_error(file.string(), 1, 1, std::move(message));
}


constexpr std::size_t kMaxScenarioFile = 1024 * 1024;

LoadResult load_text(std::string_view text, const std::string& file, const std::string& category,
                     std::size_t* suite_budget);

void load_file(const fs::path& file, const std::string& category, LoadResult& out, std::size_t& suite_budget) {
  std::string error;
  auto text = read_bounded(file, kMaxScenarioFile, error);
  if (!text) {
    out.errors.push_back(file_error(file, error));
    return;
  }
  auto r = load_text(*text, file.string(), category, &suite_budget);
  for (auto& s : r.scenarios) out.scenarios.push_back(std::move(s));
  for (auto& e : r.errors) out.errors.push_back(std::move(e));
}

}  // namespace

LoadResult load_scenario_text(std::string_view text, const std::string& file, const std::string& category) {
  return load_text(text, file, category, nullptr);
}

namespace {
LoadResult load_text(std::string_view text, const std::string& file, const std::string& category,
                     std::size_t* suite_budget) {
  LoadResult out;
  FileContext cx(file, suite_budget);
  if (auto deep = check_toml_depth(text)) {
    out.errors.push_back(make_load_error(file, deep->line, deep->column, deep->message));
    return out;
  }
  toml::table root;
  try {
    root = toml::parse(text, file);
  } catch (const toml::parse_error& e) {
    out.errors.push_back({cx.at(e.source()), std::string(e.description())});
    return out;
  }
  auto s = load_table(cx, root, category);
  if (s) out.scenarios.push_back(std::move(*s));
  for (auto& e : cx.errors()) out.errors.push_back(std::move(e));
  if (cx.dropped())
    out.errors.push_back(make_load_error(file, 1, 1, fmt::format("… and {} more errors in this file", cx.dropped())));
  return out;
}
}  // namespace

LoadResult load_scenarios(const std::vector<fs::path>& paths) {
  LoadResult out;
  std::size_t budget = kMaxGeneratedPerSuite;
  for (const auto& p : paths) {
    std::error_code ec;
    if (fs::is_directory(p, ec)) {
      std::vector<fs::path> files;
      for (auto it = fs::recursive_directory_iterator(p, ec); !ec && it != fs::recursive_directory_iterator();
           it.increment(ec))
        if (it->path().extension() == ".toml" && (it->is_regular_file() || it->is_symlink())) files.push_back(it->path());
      std::sort(files.begin(), files.end());
      const auto root = fs::weakly_canonical(p, ec);
      for (const auto& f : files) {
        // A suite is its directory: a link that leads out of it is not part of it.
        const auto real = fs::weakly_canonical(f, ec);
        const auto inside = real.lexically_relative(root);
        if (ec || inside.empty() || *inside.begin() == "..") {
          out.errors.push_back(file_error(f, fmt::format("the file leads outside the suite directory (to {})",
                                                                real.string())));
          continue;
        }
        const auto category = f.parent_path().lexically_relative(p);
        load_file(f, category.empty() || category == "." ? p.filename().string() : category.string(), out, budget);
      }
    } else if (fs::exists(p, ec)) {
      load_file(p, p.parent_path().filename().string(), out, budget);
    } else {
      out.errors.push_back(file_error(p, "no such file or directory"));
    }
  }
  // Names route requests, so they are unique across the whole suite.
  std::map<std::string, SourceLocation> seen;
  std::vector<Scenario> unique;
  for (auto& s : out.scenarios) {
    auto [it, fresh] = seen.emplace(s.name, s.where);
    if (fresh) unique.push_back(std::move(s));
    else out.errors.push_back({s.where, fmt::format("scenario name \"{}\" is already used by {}", s.name,
                                                    it->second.file)});
  }
  out.scenarios = std::move(unique);
  return out;
}

LoadError make_load_error(std::string file, int line, int column, std::string message) {
  LoadError e;
  e.where.file = std::move(file);
  e.where.line = line;
  e.where.column = column;
  e.message = std::move(message);
  return e;
}

}  // namespace upfault
