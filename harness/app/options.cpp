#include "options.hpp"

#include <charconv>
#include <fmt/format.h>

namespace upfault::cli {

std::optional<HostPort> parse_host_port(std::string text, std::string& error, bool allow_any_port) {
  if (text.rfind("http://", 0) == 0) text = text.substr(7);
  HostPort hp;
  if (auto slash = text.find('/'); slash != std::string::npos) {
    hp.path = text.substr(slash);
    text = text.substr(0, slash);
  }
  std::string port;
  if (!text.empty() && text.front() == '[') {
    auto close = text.find(']');
    if (close == std::string::npos || close + 1 >= text.size() || text[close + 1] != ':') {
      error = fmt::format("\"{}\" is not [IPv6]:PORT", text);
      return std::nullopt;
    }
    hp.host = text.substr(1, close - 1);
    port = text.substr(close + 2);
  } else {
    auto colon = text.rfind(':');
    if (colon == std::string::npos) {
      error = fmt::format("\"{}\" has no port; write HOST:PORT", text);
      return std::nullopt;
    }
    hp.host = text.substr(0, colon);
    port = text.substr(colon + 1);
  }
  if (hp.host == "localhost") hp.host = "127.0.0.1";
  unsigned value = 0;
  auto [p, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (ec != std::errc{} || p != port.data() + port.size() || (value == 0 && !allow_any_port) || value > 65535) {
    error = fmt::format("\"{}\" is not a port number", port);
    return std::nullopt;
  }
  hp.port = static_cast<std::uint16_t>(value);
  return hp;
}

bool is_loopback(const std::string& host) { return host.rfind("127.", 0) == 0 || host == "::1"; }

std::optional<Millis> parse_fixed(const std::string& text, std::string& error) {
  auto d = DurationExpr::parse(text, error);
  if (!d) return std::nullopt;
  if (d->relative()) {
    error = fmt::format("\"{}\" must be a fixed duration such as \"1s\"", text);
    return std::nullopt;
  }
  return d->resolve({});
}

void add_port_options(CLI::App* cmd, EndpointPorts& ports) {
  cmd->add_option("--upstream-port", ports.scripted, "Port of the fake upstream (default: any)");
  cmd->add_option("--refused-port", ports.refused, "Port held closed, for /__refused/ (default: any)");
  cmd->add_option("--blackhole-port", ports.blackhole, "Port whose connects never complete, for /__blackhole/");
  cmd->add_option("--accept-close-port", ports.accept_close, "Port that accepts then closes, for /__accept_close/");
  cmd->add_option("--accept-reset-port", ports.accept_reset, "Port that accepts then resets, for /__accept_reset/");
}

std::string describe_ports(const EndpointPorts& p) {
  return fmt::format("upstream 127.0.0.1:{}; /__refused/ :{}, /__blackhole/ :{}, /__accept_close/ :{}, "
                     "/__accept_reset/ :{}",
                     p.scripted, p.refused, p.blackhole, p.accept_close, p.accept_reset);
}

}  // namespace upfault::cli
