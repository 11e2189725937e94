// Routes: proxies/<name>/routes.toml, the config lines for upfault's endpoint scenarios.
#include "upfault/routes.hpp"

#include <fmt/format.h>

#include "toml_file.hpp"
#include "upfault/proxy.hpp"

namespace upfault {

namespace fs = std::filesystem;

Result<std::vector<RoutePart>> load_routes(const fs::path& profile_dir) {
  std::vector<RoutePart> out;
  std::error_code ec;
  const auto file = profile_dir / "routes.toml";
  if (!fs::exists(file, ec)) return out;
  auto fail = [&](const InputProblem& p, boost::source_location where = BOOST_CURRENT_LOCATION) {
    return problem(fmt::format("{}:{}:{}: {}", file.string(), p.line, p.column, p.message), where);
  };
  auto parsed = read_toml(file, 1 << 20);
  if (!parsed) return fail(parsed.error());
  if (auto p = unknown_key(*parsed, {"part"}, "routes.toml")) return fail(*p);
  auto* parts = parsed->get_as<toml::array>("part");
  if (!parts) return fail({1, 1, "routes.toml needs [[part]] tables: name, where, text"});
  for (auto&& node : *parts) {
    auto* t = node.as_table();
    if (!t) continue;
    if (auto p = unknown_key(*t, {"name", "where", "text"}, "a [[part]]")) return fail(*p);
    RoutePart part{(*t)["name"].value_or(std::string{}), (*t)["where"].value_or(std::string{}),
                   (*t)["text"].value_or(std::string{})};
    const bool identifier =
        !part.name.empty() && part.name.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789_") == std::string::npos;
    if (!identifier || part.where.empty() || part.text.empty())
      return fail({static_cast<int>(t->source().begin.line), static_cast<int>(t->source().begin.column),
                   "a [[part]] needs name (lower_case: the template's placeholder is {routes_NAME}), where (where "
                   "a person pastes it) and text"});
    out.push_back(std::move(part));
  }
  return out;
}

EndpointPorts with_default_endpoints(EndpointPorts p) {
  if (p.scripted == 0 || p.scripted > 65535 - 4) return p;
  int next = p.scripted;
  for (auto* port : {&p.refused, &p.blackhole, &p.accept_close, &p.accept_reset}) {
    ++next;
    if (*port == 0) *port = static_cast<std::uint16_t>(next);
  }
  return p;
}

std::map<std::string, std::string> route_vars(const EndpointPorts& ports, const ProxyTimeouts& t) {
  auto secs = [](Millis ms) { return std::to_string((ms.count() + 999) / 1000); };
  return {
      {"upstream_host", "127.0.0.1"},
      {"upstream_port", std::to_string(ports.scripted)},
      {"refused_port", std::to_string(ports.refused)},
      {"blackhole_port", std::to_string(ports.blackhole)},
      {"accept_close_port", std::to_string(ports.accept_close)},
      {"accept_reset_port", std::to_string(ports.accept_reset)},
      {"read_timeout_ms", std::to_string(t.read.count())},
      {"read_timeout_s", secs(t.read)},
      {"connect_timeout_ms", std::to_string(t.connect.count())},
      {"connect_timeout_s", secs(t.connect)},
  };
}

Result<std::map<std::string, std::string>> render_routes(const std::vector<RoutePart>& parts,
                                                         const std::map<std::string, std::string>& vars) {
  std::map<std::string, std::string> out;
  for (const auto& part : parts) {
    auto text = render_template(part.text, vars);
    if (!text) return text.error().prefixed(fmt::format("routes.toml part \"{}\": ", part.name));
    out["routes_" + part.name] = std::move(*text);
  }
  return out;
}

}  // namespace upfault
