#pragma once
// What the reference proxy says itself to its client, on the HTTP/1.1 and HTTP/2 upstream paths
// alike: a response of its own (502, 504, 400) before anything was forwarded, an aborted
// connection after.
#include <boost/asio/awaitable.hpp>
#include <boost/beast/core/tcp_stream.hpp>

#include <cstdint>
#include <string_view>

namespace upfault_ref {

/// Writes a response of the proxy's own (a text/plain body naming `why`, Connection: close,
/// written within 5 s), then shuts the client connection down for sending (a graceful close).
boost::asio::awaitable<void> send_own(boost::beast::tcp_stream& client, int status, std::string_view reason,
                                      std::string_view why);
/// send_own with 502 Bad Gateway.
boost::asio::awaitable<void> bad_gateway(boost::beast::tcp_stream& client, std::string_view why);
/// send_own with 504 Gateway Timeout.
boost::asio::awaitable<void> gateway_timeout(boost::beast::tcp_stream& client, std::string_view why);

/// How many 502 and 504 the two above have sent since the proxy started.
std::uint64_t gateway_errors_sent();

/// Resets the client connection (SO_LINGER 0, then close): after the header went out, the only
/// honest signal of a broken body.
void abort_client(boost::beast::tcp_stream& client);

}  // namespace upfault_ref
