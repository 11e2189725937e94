// upstream_connections: the scenario's requests came to the upstream on this many connections
// (e.g. requests on a keep-alive client connection that the proxy must not send on a connection
// the upstream poisoned).
#include "judge/checks/check.hpp"

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
    return Miss{
        fmt::format("the scenario's requests came on {} upstream connection{}, not {}", got, got == 1 ? "" : "s", n_)};
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
    .key = "upstream_connections",
    .order = 101,
    .example = "`upstream_connections = 2`",
    .toml_example = "upstream_connections = 2",
    .holds =
        "the scenario's requests came to the upstream on this many distinct connections (a proxy that pools "
        "connections may bring one another scenario opened: with such a proxy, run with `-j 1`)",
    .parse = parse,
};

}  // namespace upfault
