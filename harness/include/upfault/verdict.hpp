#pragma once
/// Judging what the client and the upstream saw against a scenario's expectation.
#include <string>
#include <string_view>

#include "upfault/observed.hpp"
#include "upfault/scenario.hpp"

namespace upfault {

/// Judges one exchange. `timeouts` resolve relative durations in timing bounds.
[[nodiscard]] Verdict evaluate(const Scenario& scenario, const ClientResult& client, const UpstreamLog& upstream,
                               const ProxyTimeouts& timeouts);

/// What the client got, in a few words: `200 after 3 ms (body 5 bytes: "hello")`.
[[nodiscard]] std::string describe(const ClientResult& client);

}  // namespace upfault
