#pragma once
// Option parsing shared by subcommands.
#include <cstdint>
#include <optional>
#include <string>

#include <CLI/CLI.hpp>

#include "upfault/duration.hpp"
#include "upfault/scenario.hpp"

namespace upfault::cli {

struct HostPort {
  std::string host;
  std::uint16_t port = 0;
  std::string path = "/";  ///< what follows the authority, e.g. "/__upfault/ok/" ("/" when none)
};

/// "http://127.0.0.1:8080", "127.0.0.1:8080", "[::1]:8080", "localhost:8080", each with an optional path.
std::optional<HostPort> parse_host_port(std::string text, std::string& error, bool allow_any_port = false);
/// 127.0.0.0/8 or ::1.
bool is_loopback(const std::string& host);
/// A fixed duration such as "1s" (no timeout names).
std::optional<Millis> parse_fixed(const std::string& text, std::string& error);

/// --upstream-port, --refused-port, --blackhole-port, --accept-close-port, --accept-reset-port.
void add_port_options(CLI::App* cmd, EndpointPorts& ports);
/// "upstream 127.0.0.1:P, refused :P, …" for the run header.
std::string describe_ports(const EndpointPorts& ports);

}  // namespace upfault::cli
