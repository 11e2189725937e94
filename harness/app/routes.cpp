// upfault routes PROXY: the config lines that route upfault's endpoint scenarios, for a user's own
// proxy config (the same lines the profile's template includes, so the suite has proven them).
#include <fmt/format.h>

#include <algorithm>

#include "commands.hpp"
#include "options.hpp"
#include "upfault/proxy.hpp"
#include "upfault/routes.hpp"

namespace upfault::cli {

namespace {

// The endpoint ports given on the command line (" --refused-port 9101 …"), for the run command
// printed last: a run without them would expect the default ports and find every route wrong.
std::string given_port_options(const EndpointPorts& given) {
  std::string out;
  for (const auto& f : endpoint_port_fields())
    if (given.*f.port != 0) out += fmt::format(" --{}-port {}", f.name, given.*f.port);
  return out;
}

struct RoutesArgs {
  std::string proxy;
  EndpointPorts ports;
  std::string read_timeout = "1s";
  std::string connect_timeout = "1s";
  std::string proxy_url;
  std::string tls_dir;
  bool placeholders = false;
};

// " --upstream-protocols http/1.1,https" when the routes cover more than HTTP/1.1 in plaintext.
std::string protocols_option(const ProxyProfile& p) {
  if (p.upstream_protocols.size() <= 1) return "";
  std::vector<std::string_view> names;
  for (auto proto : p.upstream_protocols) names.push_back(to_string(proto));
  return fmt::format(" --upstream-protocols {}", fmt::join(names, ","));
}

int print_routes(const RoutesArgs& a) {
  auto fail = [](const Problem& p) {
    fmt::print(stderr, "upfault routes: {}\n", p.message);
    return kInputError;
  };
  auto profile = find_profile(a.proxy, default_profile_dirs());
  if (!profile) return fail(profile.error());
  if (profile->routes.empty())
    return fail(problem(fmt::format(
        "the {} profile has no routes.toml: its config template routes the endpoints itself", profile->name)));
  if (a.ports.scripted == 0 && !a.placeholders)
    return fail(problem(
        "give --upstream-port P: the port your config sends upstream requests to (upfault's fake upstream listens "
        "there during the run), or --placeholders for a profile template"));
  ProxyTimeouts timeouts;
  for (auto [text, field] :
       {std::pair{&a.read_timeout, &timeouts.read}, std::pair{&a.connect_timeout, &timeouts.connect}}) {
    auto v = parse_fixed(*text);
    if (!v) return fail(v.error());
    *field = *v;
  }
  const auto ports = with_default_endpoints(a.ports);
  const auto& fields = endpoint_port_fields();
  if (!a.placeholders &&
      std::any_of(fields.begin(), fields.end(), [&](const PortField& f) { return ports.*f.port == 0; }))
    return fail(
        problem(fmt::format("--upstream-port {} leaves no room for the {} endpoint ports after it: give "
                            "each --NAME-port (upfault routes --help lists them)",
                            a.ports.scripted, fields.size())));
  std::map<std::string, std::string> texts;
  if (a.placeholders) {
    for (const auto& part : profile->routes) texts["routes_" + part.name] = part.text;
  } else {
    // Makes the CA there (or in the default dir), so the proxy can load it before the run.
    auto ca = apply_tls_dir(a.tls_dir, /*or_default=*/true);
    if (!ca) return fail(ca.error());
    auto rendered =
        render_routes(profile->routes, route_vars(ports, timeouts, ca->empty() ? "<--tls-dir DIR>/ca.pem" : *ca));
    if (!rendered) return fail(rendered.error());
    texts = std::move(*rendered);
  }
  if (a.placeholders)
    fmt::print("# upfault's endpoint routes for {}, as a profile template includes them ({{routes_NAME}}).\n",
               profile->name);
  else
    fmt::print(
        "# upfault's endpoint routes for {}: paste each part where it says. Everything else keeps going to your\n"
        "# upstream, 127.0.0.1:{}, where upfault's fake upstream listens during a run.\n",
        profile->name, ports.scripted);
  for (const auto& part : profile->routes)
    fmt::print("\n# routes_{}: {}\n{}", part.name, part.where, texts["routes_" + part.name]);
  if (!a.placeholders)
    fmt::print(
        "\n# The endpoint routes take the upstream timeouts of the context you paste them into: set your proxy's\n"
        "# read and connect timeouts there too (server or defaults level), not only for your own route.\n"
        "# Then start your proxy and run (the timeouts are your proxy's upstream read and connect timeouts):\n"
        "#   upfault run --proxy-url {} --upstream-port {}{} --read-timeout {} --connect-timeout {}{}{}\n",
        a.proxy_url.empty() ? "http://127.0.0.1:<your proxy's port>" : a.proxy_url, ports.scripted,
        given_port_options(a.ports), a.read_timeout, a.connect_timeout,
        a.tls_dir.empty() ? "" : fmt::format(" --tls-dir {}", a.tls_dir), protocols_option(*profile));
  return kPassed;
}

}  // namespace

void setup_routes(CLI::App& app, int& exit_code) {
  auto* cmd = app.add_subcommand(
      "routes", "Print the config lines that route upfault's endpoint scenarios, for your own proxy's config");
  auto a = std::make_shared<RoutesArgs>();
  cmd->add_option("proxy", a->proxy, "A profile name (nginx, haproxy, …) or a profile.toml")->required();
  add_port_options(cmd, a->ports);
  cmd->add_option("--read-timeout", a->read_timeout, "Your proxy's upstream read timeout")->capture_default_str();
  cmd->add_option("--connect-timeout", a->connect_timeout, "Your proxy's upstream connect timeout")
      ->capture_default_str();
  cmd->add_option("--proxy-url", a->proxy_url, "Where your proxy listens, for the printed run command");
  add_tls_dir_option(cmd, a->tls_dir);
  cmd->add_flag("--placeholders", a->placeholders, "Print {refused_port}-style placeholders, for a profile template");
  cmd->callback([a, &exit_code] { exit_code = print_routes(*a); });
}

}  // namespace upfault::cli
