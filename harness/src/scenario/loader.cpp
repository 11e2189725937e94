// Scenario loading and validation. Every problem becomes a LoadError with file:line:col;
// a file with errors yields no scenario, and never stops the other files from loading.
#include "upfault/loader.hpp"

#include <fmt/format.h>
#include <toml++/toml.h>
#include <algorithm>
#include <map>
#include <set>

#include "base/bounded_input.hpp"
#include "base/pattern.hpp"
#include "base/util.hpp"
#include "judge/checks/check.hpp"
#include "model/scenario_toml.hpp"
#include "upfault/http.hpp"
#include "upstream/steps/step.hpp"

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
    cx.error(
        n, fmt::format("a step has exactly one action, one of: {} (this one has {})", fmt::join(names, ", "), actions));
    return nullptr;
  }
  auto it = t->begin();
  if (it->first.str() == "on_request") ++it;
  auto&& [key, value] = *it;
  if (const auto* def = find_step(key.str())) return def->parse(cx, value);
  std::string msg = fmt::format("unknown step \"{}\"", key.str());
  if (auto guess = did_you_mean(key.str(), names))
    msg += fmt::format("; did you mean \"{}\"?", *guess);
  else
    msg += fmt::format(" (steps: {})", fmt::join(names, ", "));
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
      if (!i || *i < 1 || *i > 1000)
        cx.error(v, "on_request takes request numbers from 1 to 1000");
      else
        s.on_request.push_back(static_cast<int>(*i));
    };
    if (auto* a = on->as_array()) {
      if (a->empty()) cx.error(*on, "on_request = [] names no request, so the step would never run");
      for (auto&& v : *a) add(v);
    } else {
      add(*on);
    }
  }
  return s;
}

// An outcome: its checks, read in the registry's order (the order they are judged in).
Outcome load_outcome(FileContext& cx, const toml::table& t, bool top) {
  Outcome o;
  o.where = cx.at(t);
  const auto errors_before = cx.errors().size();
  std::vector<std::string_view> keys;
  for (const auto* d : check_registry()) keys.push_back(d->key);
  if (top) keys.insert(keys.end(), {"or", "stricter"});
  cx.check_keys(t, keys, top ? "[expect]" : "an outcome");
  for (const auto* d : check_registry())
    if (auto* n = t.get(d->key))
      if (auto check = d->parse(cx, *n)) o.checks.push_back(std::move(check));
  const bool on_response =
      std::any_of(o.checks.begin(), o.checks.end(), [](const auto& c) { return c->needs_response(); });
  const bool on_ending = std::any_of(o.checks.begin(), o.checks.end(), [](const auto& c) { return c->about_ending(); });
  // An unknown key (a typo) already explains a missing check: say it once.
  if (!on_response && !on_ending && cx.errors().size() == errors_before)
    cx.error(o.where, "an expectation needs status, passthrough, aborted, or a header/body/interim check");
  if (on_ending && on_response) {
    const auto ending = std::find_if(o.checks.begin(), o.checks.end(), [](const auto& c) { return c->about_ending(); });
    cx.error(o.where, fmt::format("{} contradicts checks of a complete response (status, passthrough, headers, "
                                  "body); list the other outcome under [[expect.or]]",
                                  (*ending)->toml()));
  }
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
    const bool tls = s.protocol == UpstreamProtocol::https || s.protocol == UpstreamProtocol::h2;
    if (s.steps[i].action->needs_tls() && !tls)
      cx.error(*steps_node.as_array()->get(i),
               fmt::format("{} acts on TLS: the scenario needs protocol = \"https\" or \"h2\" (or a TLS endpoint)",
                           s.steps[i].action->kind()));
    if (s.steps[i].action->needs_h2() && !is_http2(s.protocol))
      cx.error(*steps_node.as_array()->get(i),
               fmt::format("{} sends HTTP/2 frames: the scenario needs [upstream] protocol = \"h2c\" or \"h2\"",
                           s.steps[i].action->kind()));
  }
}

// risk = "desync" | "lost-information" | "wrong-error": what a failure risks for users.
void load_risk(FileContext& cx, const toml::node& n, Scenario& s) {
  const auto text = cx.string(n, "risk");
  if (!text) return;
  std::vector<std::string_view> names;
  for (auto r : kRisks) {
    names.push_back(to_string(r));
    if (*text == to_string(r)) s.risk = r;
  }
  if (s.risk) return;
  std::string msg = fmt::format("unknown risk \"{}\"", *text);
  if (auto guess = did_you_mean(*text, names)) msg += fmt::format("; did you mean \"{}\"?", *guess);
  cx.error(n, fmt::format("{} (risk is one of: {})", msg, fmt::join(names, ", ")));
}

// name, summary, rfc, rationale, level, risk, tags.
void load_meta(FileContext& cx, const toml::table& root, Scenario& s) {
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
    if (l == "must")
      s.level = Level::must;
    else if (l == "should")
      s.level = Level::should;
    else if (l == "may")
      s.level = Level::may;
    else
      cx.error(*n, "level must be \"must\", \"should\" or \"may\"");
  } else {
    cx.error(s.where, "missing required key \"level\" (must, should or may)");
  }
  if (auto* n = root.get("risk")) load_risk(cx, *n, s);
  if (auto* n = root.get("tags")) {
    if (auto* a = n->as_array()) {
      for (auto&& v : *a)
        if (auto tag = cx.string(v, "a tag")) s.tags.push_back(*tag);
    } else {
      cx.error(*n, "tags must be an array of strings");
    }
  }
}

// connection = "close" | "keep-alive" | "pipelined": how the repeated requests use client connections.
void load_client_connections(FileContext& cx, const toml::node& n, Request& r) {
  const auto text = cx.string(n, "connection");
  if (!text) return;
  for (auto c : {ClientConnections::separate, ClientConnections::keep_alive, ClientConnections::pipelined})
    if (*text == to_string(c)) r.connections = c;
  if (*text != to_string(r.connections)) {
    cx.error(n, fmt::format("connection must be \"close\", \"keep-alive\" or \"pipelined\", not \"{}\"", *text));
  } else if (r.connections != ClientConnections::separate && r.repeat < 2) {
    cx.error(n, fmt::format("connection = \"{}\" needs repeat = 2 or more (requests to share the connection)", *text));
  } else if (r.connections != ClientConnections::separate &&
             std::any_of(r.headers.begin(), r.headers.end(),
                         [](const Header& h) { return iequals(h.first, "connection"); })) {
    cx.error(n, fmt::format("connection = \"{}\": the client writes the Connection header itself (only the last "
                            "request says close); remove Connection from headers",
                            *text));
  }
}

void load_request(FileContext& cx, const toml::table& root, Scenario& s) {
  if (auto* n = root.get("request")) {
    if (auto* t = n->as_table()) {
      cx.check_keys(*t, {"method", "path", "headers", "body", "repeat", "connection"}, "[request]");
      if (auto* r = t->get("repeat")) {
        auto v = integer(r);
        if (!v || *v < 1 || *v > 100)
          cx.error(*r, "repeat must be an integer from 1 to 100");
        else
          s.request.repeat = static_cast<int>(*v);
      }
      if (auto* m = t->get("method")) s.request.method = cx.string(*m, "method").value_or("GET");
      if (auto* p = t->get("path")) {
        s.request.path = cx.string(*p, "path").value_or("/");
        if (s.request.path.empty() || s.request.path.front() != '/') cx.error(*p, "path must start with '/'");
      }
      if (auto* h = t->get("headers")) s.request.headers = load_headers(cx, *h);
      if (auto* b = t->get("body")) s.request.body = cx.string(*b, "body").value_or("");
      if (auto* c = t->get("connection")) load_client_connections(cx, *c, s.request);  // after repeat and headers
    } else {
      cx.error(*n, "request must be a table");
    }
  }
}

// endpoint = "…": which upstream port the proxy is made to reach. The TLS endpoints speak https.
void load_endpoint(FileContext& cx, const toml::node& e, Scenario& s) {
  auto v = e.value<std::string>();
  static constexpr Endpoint kAll[] = {Endpoint::scripted,       Endpoint::refused,      Endpoint::blackhole,
                                      Endpoint::accept_close,   Endpoint::accept_reset, Endpoint::tls_stall,
                                      Endpoint::tls_garbage,    Endpoint::tls_alert,    Endpoint::tls_expired,
                                      Endpoint::tls_wrong_name, Endpoint::tls_untrusted};
  bool known = false;
  for (auto candidate : kAll)
    if (v == to_string(candidate)) s.endpoint = candidate, known = true;
  if (!known)
    cx.error(e,
             "endpoint must be \"scripted\", \"refused\", \"blackhole\", \"accept-close\", \"accept-reset\", "
             "\"tls-stall\", \"tls-garbage\", \"tls-alert\", \"tls-expired\", \"tls-wrong-name\" or \"tls-untrusted\"");
  if (is_tls(s.endpoint)) s.protocol = UpstreamProtocol::https;
}

// protocol = "…": what the proxy speaks to the upstream.
void load_protocol(FileContext& cx, const toml::node& p, Scenario& s) {
  auto v = p.value<std::string>();
  auto protocol = v ? parse_protocol(*v) : std::nullopt;
  if (!protocol) {
    cx.error(p, "protocol must be \"http/1.1\", \"https\", \"h2c\" or \"h2\"");
    return;
  }
  if (is_tls(s.endpoint) && *protocol != UpstreamProtocol::https) {
    cx.error(p, fmt::format("the \"{}\" endpoint speaks https (HTTP/1.1 over TLS): leave protocol out",
                            to_string(s.endpoint)));
    return;
  }
  if (!is_tls(s.endpoint) && s.endpoint != Endpoint::scripted) {
    cx.error(p, fmt::format("the \"{}\" endpoint accepts no request: protocol does not apply", to_string(s.endpoint)));
    return;
  }
  s.protocol = *protocol;
}

// [upstream]: the endpoint and the steps.
void load_upstream(FileContext& cx, const toml::table& root, Scenario& s) {
  const toml::node* steps_node = nullptr;
  if (auto* n = root.get("upstream")) {
    if (auto* t = n->as_table()) {
      cx.check_keys(*t, {"endpoint", "protocol", "steps"}, "[upstream]");
      if (auto* e = t->get("endpoint")) load_endpoint(cx, *e, s);
      if (auto* p = t->get("protocol")) load_protocol(cx, *p, s);
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
  if (runs_steps(s.endpoint) && s.steps.empty() && cx.ok())
    cx.error(s.where, "a scripted upstream needs at least one [[upstream.steps]] entry");
  if (!runs_steps(s.endpoint) && !s.steps.empty())
    cx.error(*steps_node,
             fmt::format("steps never run: the \"{}\" endpoint accepts no request", to_string(s.endpoint)));
  if (steps_node && cx.ok()) validate_steps(cx, s, *steps_node);
}

// [expect], [[expect.or]], [[expect.stricter]].
void load_expect(FileContext& cx, const toml::table& root, Scenario& s) {
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
}

std::optional<Scenario> load_table(FileContext& cx, const toml::table& root, const std::string& category) {
  Scenario s;
  s.where = {cx.file(), 1, 1};
  s.category = category;
  cx.check_keys(root, {"name", "summary", "rfc", "rationale", "level", "risk", "tags", "request", "upstream", "expect"},
                "the scenario");
  load_meta(cx, root, s);
  load_request(cx, root, s);
  load_upstream(cx, root, s);
  load_expect(cx, root, s);
  // Passthrough compares with what the upstream sends, so that must be a valid response (its
  // check validates that).
  // What the upstream sends in answer to the last request (the one that is judged).
  std::string sent;
  for (const auto& st : s.steps) {
    if (!st.on_request.empty() &&
        std::find(st.on_request.begin(), st.on_request.end(), s.request.repeat) == st.on_request.end())
      continue;
    if (const auto* bytes = st.action->sends()) sent += *bytes;
  }
  s.upstream_response = parse_complete_response(sent);
  for (const auto& list : {&s.expect.accept, &s.expect.stricter})
    for (const auto& o : *list)
      for (const auto& check : o.checks)
        if (auto problem = check->validate(s, o)) cx.error(o.where, *problem);
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
  auto text = read_bounded(file, kMaxScenarioFile);
  if (!text) {
    out.errors.push_back(file_error(file, text.error().message));
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
  if (auto shallow = check_toml_depth(text); !shallow) {
    const auto& deep = shallow.error();
    out.errors.push_back(make_load_error(file, deep.at.line, deep.at.column, deep.message));
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
        if (it->path().extension() == ".toml" && (it->is_regular_file() || it->is_symlink()))
          files.push_back(it->path());
      std::sort(files.begin(), files.end());
      const auto root = fs::weakly_canonical(p, ec);
      for (const auto& f : files) {
        // A suite is its directory: a link that leads out of it is not part of it.
        const auto real = fs::weakly_canonical(f, ec);
        const auto inside = real.lexically_relative(root);
        if (ec || inside.empty() || *inside.begin() == "..") {
          out.errors.push_back(
              file_error(f, fmt::format("the file leads outside the suite directory (to {})", real.string())));
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
    if (fresh)
      unique.push_back(std::move(s));
    else
      out.errors.push_back(
          {s.where, fmt::format("scenario name \"{}\" is already used by {}", s.name, it->second.file)});
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
