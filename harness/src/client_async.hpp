#pragma once
// The asynchronous client, for the runner (which runs many exchanges on one io_context).
#include "net.hpp"
#include "upfault/client.hpp"

namespace upfault {

/// Connects to options.host:port, sends `wire`, and records what comes back until a complete
/// response, a close, a reset, or options.deadline.
net::awaitable<ClientResult> fetch_async(FetchOptions options, std::string wire, bool head_request);

}  // namespace upfault
