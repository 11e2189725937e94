#pragma once
// The fake upstream's multiplexing HTTP/2 server, for load (FakeUpstream::Options::h2_multiplex):
// the coroutine that moves bytes between the connection and an h2::MuxServer (no I/O of its own),
// and answers each request with its scenario's response. h2::Session hands a connection over
// here when its first request is for a scenario that only answers with a valid response.
#include <string>

#include "io/net.hpp"

namespace upfault::upstream {

class Connection;

/// Serves `c` multiplexed until the proxy closes it, breaks the protocol, or the connection cap.
/// `replay`: every byte the proxy sent since the connection began (the client preface first),
/// which the multiplexing session reads from the start; h2::Session has sent only its preface, an
/// empty SETTINGS.
net::awaitable<void> serve_multiplexed(Connection& c, std::string replay);

}  // namespace upfault::upstream
