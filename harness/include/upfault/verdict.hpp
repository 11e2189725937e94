#pragma once
/// Judging what the client and the upstream saw against a scenario's expectation.
#include <string>
#include <string_view>

#include "upfault/client.hpp"
#include "upfault/scenario.hpp"
#include "upfault/upstream.hpp"

namespace upfault {

/// Result classes, as cache-tests.fyi has them.
enum class VerdictKind {
  pass,      ///< an accepted outcome
  stricter,  ///< an informative outcome: stricter than the RFC requires, not a failure
  fail,      ///< the proxy did something the scenario does not accept
  error,     ///< the harness or setup failed; says nothing about the proxy
};
[[nodiscard]] std::string_view to_string(VerdictKind k);

struct Verdict {
  VerdictKind kind = VerdictKind::error;
  std::string reason;  ///< a sentence a person can act on
};

/// Judges one exchange. `timeouts` resolve relative durations in timing bounds.
[[nodiscard]] Verdict evaluate(const Scenario& scenario, const ClientResult& client,
                               const UpstreamLog& upstream, const ProxyTimeouts& timeouts);

/// What the client got, in a few words: `200 after 3 ms (body 5 bytes: "hello")`.
[[nodiscard]] std::string describe(const ClientResult& client);

}  // namespace upfault
