// Proxy profiles: proxies/<name>/profile.toml.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cstdlib>

#include "base/bounded_input.hpp"
#include "base/pattern.hpp"
#include "base/toml_file.hpp"
#include "base/util.hpp"
#include "upfault/proxy.hpp"

namespace upfault {

namespace fs = std::filesystem;

namespace {

constexpr std::size_t kMaxTemplateBytes = 1 << 20;

std::vector<std::string> strings(const toml::node* n) {
  std::vector<std::string> out;
  if (auto* a = n ? n->as_array() : nullptr)
    for (auto&& v : *a)
      if (auto s = v.value<std::string>()) out.push_back(*s);
  return out;
}

// A problem at a place in the profile, told as a scenario file's are: "file:line:col: error: …".
Problem located(const fs::path& file, int line, int column, std::string message,
                boost::source_location where = BOOST_CURRENT_LOCATION) {
  return problem(make_load_error(file.string(), line, column, std::move(message)).str(), where);
}

// The directory of the profile named `name` that has a routes.toml (its routes.toml only: a
// profile's own `routes` key is not followed, so two profiles cannot name each other forever).
Result<fs::path> routes_of(const std::string& name) {
  std::vector<std::string> known;
  std::error_code ec;
  for (const auto& d : default_profile_dirs()) {
    if (!name.empty() && name.find('/') == std::string::npos && fs::exists(d / name / "routes.toml", ec))
      return d / name;
    for (const auto& n : list_profiles({d}))
      if (fs::exists(d / n / "routes.toml", ec) && std::find(known.begin(), known.end(), n) == known.end())
        known.push_back(n);
  }
  return problem(fmt::format("routes = \"{}\" names no profile with a routes.toml (those that have one: {})", name,
                             fmt::join(known, ", ")));
}

// upstream_protocols = ["http/1.1", "https", …] (default: http/1.1 only) and [not_tested], a
// sentence for each protocol it lacks, saying why (quoted on the matrix page).
Result<void> load_protocols(const fs::path& file, const toml::table& t, ProxyProfile& p) {
  auto at = [&](const toml::node& n, std::string msg) {
    return located(file, static_cast<int>(n.source().begin.line), static_cast<int>(n.source().begin.column),
                   std::move(msg));
  };
  if (auto* n = t.get("upstream_protocols")) {
    const auto* a = n->as_array();
    if (!a) return at(*n, "upstream_protocols must be a list, e.g. [\"http/1.1\", \"https\"]");
    p.upstream_protocols.clear();
    for (auto&& v : *a) {
      auto proto = parse_protocol(v.value<std::string>().value_or(""));
      if (!proto) return at(v, "upstream_protocols: each is \"http/1.1\", \"https\", \"h2c\" or \"h2\"");
      p.upstream_protocols.push_back(*proto);
    }
  }
  if (auto* n = t.get("not_tested")) {
    const auto* tt = n->as_table();
    if (!tt) return at(*n, "not_tested must be a table: h2c = \"why the proxy cannot speak it to an upstream\"");
    for (auto&& [k, v] : *tt) {
      auto proto = parse_protocol(k.str());
      if (!proto || !v.is_string())
        return at(v, fmt::format("not_tested: \"{}\" must be a protocol (http/1.1, https, h2c, h2) with a sentence "
                                 "saying why it is not tested",
                                 k.str()));
      p.not_tested[*proto] = *v.value<std::string>();
    }
  }
  return {};
}

// The profile's upstream protocols: its own keys (load_protocols), after those of the profile
// whose routes it borrows (routes = "nginx": its routes reach those endpoints) when it has none.
Result<void> protocols_of(const fs::path& file, const toml::table& t, const fs::path& routes_dir, ProxyProfile& p) {
  if (t.get("routes") && !t.get("upstream_protocols")) {
    const auto lender = routes_dir / "profile.toml";
    if (auto lent = read_toml(lender, 1 << 20); lent)
      if (auto r = load_protocols(lender, *lent, p); !r) return r.error();
  }
  return load_protocols(file, t, p);
}

Result<ProxyProfile> load_profile(const fs::path& file) {
  auto fail = [&](const toml::source_region& r, std::string msg,
                  boost::source_location where = BOOST_CURRENT_LOCATION) {
    return located(file, static_cast<int>(r.begin.line), static_cast<int>(r.begin.column), std::move(msg), where);
  };
  auto parsed = read_toml(file, 1 << 20);
  if (!parsed) return located(file, parsed.error().at.line, parsed.error().at.column, parsed.error().message);
  const toml::table& t = *parsed;
  static constexpr std::string_view kKeys[] = {
      "name",      "description",   "command",  "config",         "version", "version_regex",      "packages",
      "error_log", "ready_timeout", "timeouts", "shared_workdir", "routes",  "upstream_protocols", "not_tested"};
  for (auto&& [k, v] : t) {
    if (std::find(std::begin(kKeys), std::end(kKeys), k.str()) != std::end(kKeys)) continue;
    std::string msg = fmt::format("unknown key \"{}\" in the profile", k.str());
    if (auto g = did_you_mean(k.str(), std::span<const std::string_view>(kKeys)))
      msg += fmt::format("; did you mean \"{}\"?", *g);
    return fail(k.source(), msg);
  }
  ProxyProfile p;
  p.dir = file.parent_path();
  p.name = t["name"].value_or(p.dir.filename().string());
  p.description = t["description"].value_or(std::string{});
  p.command = strings(t.get("command"));
  if (p.command.empty()) return fail(t.source(), "the profile needs command = [\"program\", \"arg\", …]");
  // config = "nginx.conf.in", or a list of templates (relative paths; subdirectories are kept).
  std::vector<std::string> configs = strings(t.get("config"));
  if (auto c = t["config"].value<std::string>()) configs.push_back(*c);
  for (const auto& c : configs) {
    // Each template is read when the proxy starts: one that is missing, not a regular file (a
    // FIFO would block) or too large is this profile's mistake, told now, where it is written.
    if (auto readable = read_bounded(p.dir / c, kMaxTemplateBytes); !readable)
      return fail(t["config"].node()->source(), fmt::format("config \"{}\": {}", c, readable.error().message));
    p.config_templates.push_back(c);
  }
  p.version_command = strings(t.get("version"));
  // routes = "nginx": a profile for one's own config takes the routes another profile has proven.
  fs::path routes_dir = p.dir;
  if (auto* r = t.get("routes")) {
    if (!r->is_string()) return fail(r->source(), "routes must name a profile, e.g. routes = \"nginx\"");
    auto dir = routes_of(r->value<std::string>().value_or(""));
    if (!dir) return fail(r->source(), dir.error().message);
    routes_dir = *dir;
  }
  auto routes = load_routes(routes_dir);
  if (!routes) return routes.error();
  p.routes = std::move(*routes);
  p.version_regex = t["version_regex"].value_or(std::string{R"(([0-9]+\.[0-9]+[0-9.]*))"});
  if (auto re = Pattern::compile(p.version_regex); !re)
    return fail(t["version_regex"].node() ? t["version_regex"].node()->source() : t.source(),
                "version_regex is not a valid RE2 regex: " + re.error().message);
  p.packages = strings(t.get("packages"));
  p.error_log = t["error_log"].value_or(std::string{});
  p.shared_workdir = t["shared_workdir"].value_or(false);
  if (auto r = protocols_of(file, t, routes_dir, p); !r) return r.error();
  // A fixed duration, or why not ("must be fixed" for one relative to the timeouts it sets).
  auto why_not_fixed = [](const Result<DurationExpr>& d) {
    return d ? std::string("must be fixed") : d.error().message;
  };
  if (auto r = t["ready_timeout"].value<std::string>()) {
    auto d = DurationExpr::parse(*r);
    if (!d || d->relative()) return fail(t["ready_timeout"].node()->source(), "ready_timeout: " + why_not_fixed(d));
    p.ready_timeout = d->resolve({});
  }
  if (auto* tt = t.get_as<toml::table>("timeouts")) {
    for (auto [key, field] : {std::pair{"read", &p.timeouts.read}, std::pair{"connect", &p.timeouts.connect}}) {
      if (auto s = (*tt)[key].value<std::string>()) {
        auto d = DurationExpr::parse(*s);
        if (!d || d->relative())
          return fail((*tt)[key].node()->source(), fmt::format("timeouts.{}: {}", key, why_not_fixed(d)));
        *field = d->resolve({});
      }
    }
  }
  return p;
}

}  // namespace

std::vector<fs::path> default_profile_dirs() {
  std::vector<fs::path> dirs;
  if (const char* env = std::getenv("UPFAULT_PROXIES_DIR"); env && *env) dirs.emplace_back(env);
  dirs.push_back(tool_dir().parent_path() / "share" / "upfault" / "proxies");
#ifdef UPFAULT_INSTALL_DATADIR
  dirs.emplace_back(fs::path(UPFAULT_INSTALL_DATADIR) / "proxies");
#endif
#ifdef UPFAULT_SOURCE_PROXIES_DIR
  dirs.emplace_back(UPFAULT_SOURCE_PROXIES_DIR);
#endif
  return dirs;
}

Result<ProxyProfile> find_profile(const std::string& name_or_path, const std::vector<fs::path>& dirs) {
  std::error_code ec;
  if (name_or_path.find('/') != std::string::npos || fs::path(name_or_path).extension() == ".toml") {
    fs::path p = name_or_path;
    if (fs::is_directory(p, ec)) p /= "profile.toml";
    if (!fs::exists(p, ec)) return located(p, 0, 0, "no such proxy profile");
    return load_profile(p);
  }
  for (const auto& d : dirs)
    if (fs::exists(d / name_or_path / "profile.toml", ec)) return load_profile(d / name_or_path / "profile.toml");
  auto names = list_profiles(dirs);
  std::vector<std::string_view> views(names.begin(), names.end());
  std::string msg = fmt::format("no proxy profile named \"{}\"", name_or_path);
  if (auto g = did_you_mean(name_or_path, views))
    msg += fmt::format("; did you mean \"{}\"?", *g);
  else
    msg += fmt::format(" (known: {})", fmt::join(names, ", "));
  return located(name_or_path, 0, 0, msg);
}

std::vector<std::string> list_profiles(const std::vector<fs::path>& dirs) {
  std::vector<std::string> names;
  std::error_code ec;
  for (const auto& d : dirs) {
    if (!fs::is_directory(d, ec)) continue;
    for (const auto& e : fs::directory_iterator(d, ec))
      if (fs::exists(e.path() / "profile.toml", ec) &&
          std::find(names.begin(), names.end(), e.path().filename().string()) == names.end())
        names.push_back(e.path().filename().string());
  }
  std::sort(names.begin(), names.end());
  return names;
}

Result<std::string> render_template(const std::string& text, const std::map<std::string, std::string>& vars) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '{') {
      auto close = text.find('}', i);
      if (close != std::string::npos) {
        std::string name = text.substr(i + 1, close - i - 1);
        bool identifier = !name.empty() && std::all_of(name.begin(), name.end(), [](char c) {
          return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
        });
        if (identifier) {
          auto it = vars.find(name);
          if (it == vars.end()) return problem(fmt::format("unknown placeholder {{{}}}", name));
          out += it->second;
          i = close;
          continue;
        }
      }
    }
    out += text[i];
  }
  return out;
}

}  // namespace upfault
