// Routes: proxies/<name>/routes.toml, the config lines for upfault's endpoint scenarios.
#include "upfault/routes.hpp"

#include <fmt/format.h>
#include <algorithm>

#include "base/toml_file.hpp"
#include "tls/certs.hpp"
#include "upfault/proxy.hpp"

namespace upfault {

namespace fs = std::filesystem;

Result<std::vector<RoutePart>> load_routes(const fs::path& profile_dir) {
  std::vector<RoutePart> out;
  std::error_code ec;
  const auto file = profile_dir / "routes.toml";
  if (!fs::exists(file, ec)) return out;
  auto fail = [&](const Problem& p) { return p.in_file(file.string()); };
  auto parsed = read_toml(file, 1 << 20);
  if (!parsed) return fail(parsed.error());
  if (auto known = known_keys(*parsed, {"part"}, "routes.toml"); !known) return fail(known.error());
  auto* parts = parsed->get_as<toml::array>("part");
  if (!parts) return fail(problem_at(1, 1, "routes.toml needs [[part]] tables: name, where, text"));
  for (auto&& node : *parts) {
    auto* t = node.as_table();
    if (!t) continue;
    if (auto known = known_keys(*t, {"name", "where", "text"}, "a [[part]]"); !known) return fail(known.error());
    RoutePart part{(*t)["name"].value_or(std::string{}), (*t)["where"].value_or(std::string{}),
                   (*t)["text"].value_or(std::string{})};
    const bool identifier =
        !part.name.empty() && part.name.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789_") == std::string::npos;
    if (!identifier || part.where.empty() || part.text.empty())
      return fail(problem_at(*t,
                             "a [[part]] needs name (lower_case: the template's placeholder is {routes_NAME}), where "
                             "(where a person pastes it) and text"));
    out.push_back(std::move(part));
  }
  return out;
}

EndpointPorts with_default_endpoints(EndpointPorts p) {
  const auto& fields = endpoint_port_fields();
  if (p.scripted == 0 || p.scripted > 65535 - fields.size()) return p;
  int next = p.scripted;
  for (const auto& f : fields) {
    ++next;
    if (p.*f.port == 0) p.*f.port = static_cast<std::uint16_t>(next);
  }
  return p;
}

std::map<std::string, std::string> route_vars(const EndpointPorts& ports, const ProxyTimeouts& t,
                                              const std::string& ca_file) {
  auto secs = [](Millis ms) { return std::to_string((ms.count() + 999) / 1000); };
  std::map<std::string, std::string> vars = {
      {"upstream_host", "127.0.0.1"},
      {"upstream_port", std::to_string(ports.scripted)},
      {"read_timeout_ms", std::to_string(t.read.count())},
      {"read_timeout_s", secs(t.read)},
      {"connect_timeout_ms", std::to_string(t.connect.count())},
      {"connect_timeout_s", secs(t.connect)},
      {"ca_file", ca_file},
      {"tls_server_name", tls::kServerName},
  };
  for (const auto& f : endpoint_port_fields()) {
    std::string var(f.name);
    std::replace(var.begin(), var.end(), '-', '_');
    vars[var + "_port"] = std::to_string(ports.*f.port);
  }
  return vars;
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
