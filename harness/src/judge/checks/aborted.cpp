// aborted: a response header reached the client, then the proxy closed or reset the connection
// before the message was complete. Nothing at all is not aborted: a client that got no response
// was told nothing (curl: "Empty reply from server").
#include "judge/checks/check.hpp"

namespace upfault {
namespace {

class Aborted final : public Check {
 public:
  std::string_view key() const override { return "aborted"; }
  std::string describe() const override { return "an aborted response"; }
  std::string toml() const override { return "aborted = true"; }
  bool needs_response() const override { return false; }
  bool about_ending() const override { return true; }
  std::optional<Miss> mismatch(const Observation& seen) const override {
    const auto& c = seen.client;
    const bool cut = c.ending == Ending::closed_early || c.ending == Ending::reset;
    if (cut && c.header_complete) return std::nullopt;
    if (cut && c.raw_total == 0)
      return Miss{"no response at all is not an aborted response: the client was never told that the upstream failed"};
    if (cut) return Miss{"no response header reached the client before the connection ended"};
    if (c.ending == Ending::timed_out)
      return Miss{"the proxy neither completed the response nor closed the connection"};
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
    .key = "aborted",
    .order = 30,
    .example = "`aborted = true`",
    .toml_example = "aborted = true",
    .holds =
        "a response header reached the client, then the proxy closed or reset the connection before the message was "
        "complete (no response at all is not aborted; a proxy that holds the connection open instead fails)",
    .parse = parse,
};

}  // namespace upfault
