#pragma once
// The reference proxy's three roles, one coroutine per accepted client connection (main.cpp
// picks one from the command line).
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>

#include "config.hpp"

namespace upfault_ref {

/// The reference proxy (reference_session.cpp): one request, forwarded as RFC 9110/9112 ask, over
/// HTTP/1.1, TLS or HTTP/2 as its route says; 502/504 of its own when the upstream fails.
boost::asio::awaitable<void> reference_session(boost::asio::ip::tcp::socket socket, const Config& cfg);

/// The blind relay (--blind, blind_session.cpp): bytes copied both ways, no parsing, no timeouts.
boost::asio::awaitable<void> blind_session(boost::asio::ip::tcp::socket client, const Config& cfg);

/// A broken proxy (--misbehave MODE, misbehaving_session.cpp): hang, reset, close, garbage, flood
/// or crash-after=N, so that the harness's handling of a broken proxy under test is tested.
boost::asio::awaitable<void> misbehaving_session(boost::asio::ip::tcp::socket socket, const Config& cfg);

}  // namespace upfault_ref
