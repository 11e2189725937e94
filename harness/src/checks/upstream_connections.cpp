// upstream_connections: the proxy opened this many connections to the upstream for the scenario
// (e.g. requests on a keep-alive client connection that the proxy must not send on a connection
// the upstream poisoned).
#include "checks/check.hpp"

namespace upfault {
namespace {

class UpstreamConnections final : public Check {
 public:
  explicit UpstreamConnections(int n) : n_(n) {}
  std::string_view key() const override { return "upstream_connections"; }
  std::string toml() const override { return fmt::format("upstream_connections = {}", n_); }
  std::string describe() const override { return fmt::format("{} upstream connection{}", n_, n_ == 1 ? "" : "s"); }
  bool needs_response() const override { return false; }
  bool counts_upstream_requests() const override { return n_ == 0; }
  std::optional<Miss> mismatch(const Observation& seen) const override {
    const int got = seen.upstream.connection_count();
    if (got == n_) return std::nullopt;
    return Miss{fmt::format("the proxy opened {} connection{} to the upstream, not {}", got, got == 1 ? "" : "s", n_)};
  }

 private:
  int n_;
};

std::shared_ptr<const Check> parse(FileContext& cx, const toml::node& n) {
  auto v = integer(n);
  if (!v || *v < 0 || *v > 1000) {
    cx.error(n, "upstream_connections must be an integer from 0 to 1000");
    return nullptr;
  }
  return std::make_shared<UpstreamConnections>(static_cast<int>(*v));
}

}  // namespace

extern const CheckDef upstream_connections_check = {
    "upstream_connections",
    101,
    "`upstream_connections = 2`",
    "upstream_connections = 2",
    "the proxy opened this many connections to the upstream for the scenario",
    parse};

}  // namespace upfault
