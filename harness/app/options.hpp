#pragma once
// Option parsing shared by subcommands.
#include <cstdint>
#include <optional>
#include <string>

#include "upfault/duration.hpp"

namespace upfault::cli {

struct HostPort {
  std::string host;
  std::uint16_t port = 0;
};

/// "http://127.0.0.1:8080", "127.0.0.1:8080", "[::1]:8080", "localhost:8080".
std::optional<HostPort> parse_host_port(std::string text, std::string& error, bool allow_any_port = false);
/// 127.0.0.0/8 or ::1.
bool is_loopback(const std::string& host);
/// A fixed duration such as "1s" (no timeout names).
std::optional<Millis> parse_fixed(const std::string& text, std::string& error);

}  // namespace upfault::cli
