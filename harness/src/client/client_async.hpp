#pragma once
// The asynchronous client, for the runner (which runs many exchanges on one io_context).
#include "io/net.hpp"
#include "upfault/client.hpp"

namespace upfault {

/// A scenario's requests through the proxy, each recorded until a complete response, a close, a
/// reset, or options.deadline: on their own connections (separate), one after another
/// on one persistent connection (keep_alive: each once the previous response is complete), or all
/// written at once (pipelined). A connection the proxy closes, or says it will close, is replaced
/// by a new one for the requests left. Returns the last response, the earlier ones in `earlier`.
net::awaitable<ClientResult> converse_async(FetchOptions options, std::vector<std::string> wires,
                                            ClientConnections mode, bool head_request);

}  // namespace upfault
