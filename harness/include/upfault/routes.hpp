#pragma once
/// Routes: the lines of a proxy's config that send upfault's endpoint scenarios to their ports
/// (/__refused/, /__blackhole/, /__accept_close/, /__accept_reset/), kept per profile in
/// proxies/<name>/routes.toml. The profile's own template includes them ({routes_<part>}), so the
/// suite proves every snippet; `upfault routes NAME` prints them for a user's own config.
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "upfault/duration.hpp"
#include "upfault/problem.hpp"
#include "upfault/scenario.hpp"

namespace upfault {

/// One piece of config, pasted in one place of the user's file.
struct RoutePart {
  std::string name;   ///< the template placeholder is {routes_<name>}
  std::string where;  ///< where it goes, for a person: "in the server {} block that …"
  std::string text;   ///< with {placeholders} of ports and timeouts
};

/// <profile_dir>/routes.toml, if the profile has one (an empty list if not).
[[nodiscard]] Result<std::vector<RoutePart>> load_routes(const std::filesystem::path& profile_dir);

/// Endpoint ports left at 0 take the ports after the upstream's: refused P+1, blackhole P+2,
/// accept-close P+3, accept-reset P+4, then the TLS ports in endpoint_port_fields() order (tls
/// P+5 … tls-untrusted P+12), so a config written once and `upfault run --proxy-url` agree
/// without an option for each. A zero upstream port leaves everything as it is.
[[nodiscard]] EndpointPorts with_default_endpoints(EndpointPorts ports);

/// The placeholders a route's text may use: the ports ({tls_port}, …), the timeouts, {ca_file}
/// (the CA certificate the proxy must trust for the TLS ports) and {tls_server_name}.
[[nodiscard]] std::map<std::string, std::string> route_vars(const EndpointPorts& ports, const ProxyTimeouts& timeouts,
                                                            const std::string& ca_file = "/path/to/upfault/ca.pem");

/// Every part rendered with `vars`, as {routes_<name>} → text.
[[nodiscard]] Result<std::map<std::string, std::string>> render_routes(const std::vector<RoutePart>& parts,
                                                                       const std::map<std::string, std::string>& vars);

}  // namespace upfault
