// upstream_requests: this many requests reached the upstream.
#include "checks/check.hpp"

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

std::shared_ptr<const Check> parse(FileContext& cx, const toml::node& n) {
  auto v = integer(n);
  if (!v || *v < 0 || *v > 1000) {
    cx.error(n, "upstream_requests must be an integer from 0 to 1000");
    return nullptr;
  }
  return std::make_shared<UpstreamRequests>(static_cast<int>(*v));
}

}  // namespace

extern const CheckDef upstream_requests_check = {
    "upstream_requests",
    100,
    "`upstream_requests = 1`",
    "upstream_requests = 1",
    "this many requests reached the upstream (e.g. a POST was not retried)",
    parse};

}  // namespace upfault
