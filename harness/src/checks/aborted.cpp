// aborted: the client did not get a complete message; the proxy closed or reset the connection.
#include "checks/check.hpp"

namespace upfault {
namespace {

class Aborted final : public Check {
 public:
  std::string_view key() const override { return "aborted"; }
  std::string describe() const override { return "an aborted response"; }
  bool needs_response() const override { return false; }
  bool about_ending() const override { return true; }
  std::optional<Miss> mismatch(const Observation& seen) const override {
    const auto e = seen.client.ending;
    if (e == Ending::closed_early || e == Ending::reset) return std::nullopt;
    if (e == Ending::timed_out) return Miss{"the proxy neither completed the response nor closed the connection"};
    return Miss{"the response was not aborted"};
  }
};

std::shared_ptr<const Check> parse(FileContext& cx, const toml::node& n) {
  auto b = n.value<bool>();
  if (!b) cx.error(n, "aborted must be true or false");
  if (!b || !*b) return nullptr;
  return std::make_shared<Aborted>();
}

}  // namespace

extern const CheckDef aborted_check = {
    "aborted", 30, "`aborted = true`",
    "no complete message: the proxy closed or reset the connection before one (a proxy that holds the connection "
    "open instead fails)",
    parse};

}  // namespace upfault
