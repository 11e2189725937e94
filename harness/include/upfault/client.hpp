#pragma once
/// The client side of a scenario: one request through the proxy, and exactly what came back.
#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "upfault/http.hpp"
#include "upfault/observed.hpp"
#include "upfault/scenario.hpp"

namespace upfault {

/// Options of one exchange.
struct FetchOptions {
  std::string host = "127.0.0.1";
  std::uint16_t port = 0;
  Millis deadline{10000};  ///< the whole exchange, from connect
  /// The largest response header section accepted (memory grows to it only if the proxy sends it).
  std::size_t header_limit = kMinHeaderLimit;
  /// After the last complete response, read on until the proxy closes (or the deadline), to
  /// record what it sends past the response (ClientResult::after).
  bool read_after = false;
  /// The keep-alive probe: when the proxy keeps the connection open after the last complete
  /// response, this request is sent on it and its response recorded (ClientResult::probe).
  /// `before_probe` is called just before it is sent.
  std::string probe_wire;
  std::function<void()> before_probe;
};

/// The header limit for a scenario: a header section as large as the upstream's, plus room for
/// the proxy's own fields, is a header the proxy may forward — at least 1 MiB.
[[nodiscard]] std::size_t header_limit_for(const Scenario& s);

/// The bytes of `request` as sent on the wire, with `path_prefix` before its path and
/// `extra` headers after its own. Adds Host, Content-Length and (when `close`) Connection: close
/// as needed.
[[nodiscard]] std::string render_request(const Request& request, const std::string& path_prefix,
                                         const std::vector<Header>& extra, const std::string& host, bool close = true);
/// The wire form of each of the scenario's requests (Request::repeat of them): on a shared client
/// connection only the last says Connection: close.
/// With `close_last` false the last one does not either (the connection is to stay open for the
/// keep-alive probe).
[[nodiscard]] std::vector<std::string> render_requests(const Request& request, const std::string& path_prefix,
                                                       const std::vector<Header>& extra, const std::string& host,
                                                       bool close_last = true);

/// Sends `wire` and records the response (blocking; for tests and tools).
[[nodiscard]] ClientResult fetch(const FetchOptions& options, const std::string& wire, bool head_request = false);
/// Sends each of `wires` on client connections as `mode` says, and returns the last response with
/// the earlier ones in ClientResult::earlier (blocking; for tests and tools).
[[nodiscard]] ClientResult converse(const FetchOptions& options, const std::vector<std::string>& wires,
                                    ClientConnections mode, bool head_request = false);

}  // namespace upfault
