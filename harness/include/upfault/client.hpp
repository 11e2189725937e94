#pragma once
/// The client side of a scenario: one request through the proxy, and exactly what came back.
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "upfault/scenario.hpp"

namespace upfault {

/// How the client's exchange with the proxy ended.
enum class Ending {
  complete,        ///< a complete response was received
  closed_early,    ///< the proxy closed (FIN) before a complete response
  reset,           ///< the proxy reset the connection (ECONNRESET)
  timed_out,       ///< nothing ended the exchange before the client's deadline
  invalid,         ///< the proxy sent bytes that are not a valid HTTP response
  connect_failed,  ///< the proxy could not be reached (a harness or setup problem)
};
[[nodiscard]] std::string_view to_string(Ending e);

/// What the client saw.
struct ClientResult {
  Ending ending = Ending::timed_out;
  std::string error;                 ///< detail for connect_failed / invalid / reset
  std::string raw;                   ///< bytes received (first 64 KiB)
  std::size_t raw_total = 0;
  bool header_complete = false;
  std::optional<ResponseImage> response;  ///< set when the header was complete; its body: the first 64 KiB read
  std::uint64_t body_size = 0;       ///< every body byte received (of the final response)
  std::string body_digest;           ///< SHA-1 (hex) of those bytes: compares a body beyond the 64 KiB kept
  std::vector<int> interim;          ///< 1xx statuses seen before the final response
  Millis elapsed{0};                 ///< request sent → exchange ended
  std::optional<Millis> first_byte;  ///< request sent → first response byte
};

/// Options of one exchange.
struct FetchOptions {
  std::string host = "127.0.0.1";
  std::uint16_t port = 0;
  Millis deadline{10000};  ///< the whole exchange, from connect
};

/// The bytes of `request` as sent on the wire, with `path_prefix` before its path and
/// `extra` headers after its own. Adds Host, Connection: close and Content-Length as needed.
[[nodiscard]] std::string render_request(const Request& request, const std::string& path_prefix,
                                         const std::vector<Header>& extra, const std::string& host);

/// Sends `wire` and records the response (blocking; for tests and tools).
[[nodiscard]] ClientResult fetch(const FetchOptions& options, const std::string& wire,
                                 bool head_request = false);

}  // namespace upfault
