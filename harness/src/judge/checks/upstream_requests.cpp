// upstream_requests: this many requests reached the upstream; or, with `{ at_most = N }`, no more
// than N attempts did (a bound on a proxy's retries).
#include <algorithm>

#include "judge/checks/check.hpp"

namespace upfault {
namespace {

class UpstreamRequests final : public Check {
 public:
  explicit UpstreamRequests(int n) : n_(n) {}
  std::string_view key() const override { return "upstream_requests"; }
  std::string describe() const override { return fmt::format("{} upstream request{}", n_, n_ == 1 ? "" : "s"); }
  std::string toml() const override { return fmt::format("upstream_requests = {}", n_); }
  bool needs_response() const override { return false; }
  bool counts_upstream_requests() const override { return true; }
  std::optional<Miss> mismatch(const Observation& seen) const override {
    const int got = seen.upstream.requests();
    if (got == n_) return std::nullopt;
    return Miss{fmt::format("{} request{} reached the upstream, not {}", got, got == 1 ? "" : "s", n_)};
  }

 private:
  int n_;
};

// Every attempt the proxy made for the scenario: the requests the upstream served, and the HTTP/2
// streams it refused unserved (a proxy that retries on a connection the upstream told to go away
// would otherwise escape the bound).
int attempts(const UpstreamLog& up) {
  const auto refused = std::count_if(up.connections.begin(), up.connections.end(),
                                     [](const ConnectionLog& c) { return c.end == ConnectionEnd::refused_stream; });
  return up.requests() + static_cast<int>(refused);
}

class AtMost final : public Check {
 public:
  explicit AtMost(int n) : n_(n) {}
  std::string_view key() const override { return "upstream_requests"; }
  std::string describe() const override { return fmt::format("at most {} upstream request{}", n_, n_ == 1 ? "" : "s"); }
  std::string toml() const override { return fmt::format("upstream_requests = {{ at_most = {} }}", n_); }
  bool needs_response() const override { return false; }
  // A bound is no evidence that the upstream was asked: a proxy that never sent the request was
  // not tested, whatever it answered.
  bool counts_upstream_requests() const override { return false; }
  std::optional<Miss> mismatch(const Observation& seen) const override {
    const int got = attempts(seen.upstream);
    if (got <= n_) return std::nullopt;
    const int refused = got - seen.upstream.requests();
    return Miss{fmt::format("{} requests reached the upstream{}, more than the {} allowed", got,
                            refused > 0 ? fmt::format(" ({} of them HTTP/2 streams it refused)", refused) : "", n_)};
  }

 private:
  int n_;
};

std::shared_ptr<const Check> parse(FileContext& cx, const toml::node& n) {
  if (const auto* t = n.as_table()) {
    cx.check_keys(*t, {"at_most"}, "upstream_requests");
    auto v = integer(t->get("at_most"));
    if (!v || *v < 1 || *v > 1000) {
      cx.error(n, "upstream_requests = { at_most = N } needs N from 1 to 1000");
      return nullptr;
    }
    return std::make_shared<AtMost>(static_cast<int>(*v));
  }
  auto v = integer(n);
  if (!v || *v < 0 || *v > 1000) {
    cx.error(n, "upstream_requests must be an integer from 0 to 1000, or { at_most = N }");
    return nullptr;
  }
  return std::make_shared<UpstreamRequests>(static_cast<int>(*v));
}

}  // namespace

extern const CheckDef upstream_requests_check = {
    .key = "upstream_requests",
    .order = 100,
    .example = "`upstream_requests = 1` or `upstream_requests = { at_most = 10 }`",
    .toml_example = "upstream_requests = 1",
    .holds =
        "this many requests reached the upstream (e.g. a POST was not retried); with `at_most`, no more than that many "
        "attempts did, HTTP/2 streams the upstream refused unserved included (a bound on retries)",
    .parse = parse,
};

}  // namespace upfault
