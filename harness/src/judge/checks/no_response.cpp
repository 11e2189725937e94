// no_response: the proxy closed or reset the client connection before sending a single byte. No
// response tells the client nothing, so it is acceptable only where the RFC allows it, and the
// scenario must say why (the reason is the check's value).
#include "judge/checks/check.hpp"

namespace upfault {
namespace {

class NoResponse final : public Check {
 public:
  explicit NoResponse(std::string reason) : reason_(std::move(reason)) {}
  std::string_view key() const override { return "no_response"; }
  std::string toml() const override { return "no_response = " + toml_quote(reason_); }
  std::string describe() const override { return fmt::format("no response ({})", reason_); }
  bool needs_response() const override { return false; }
  bool about_ending() const override { return true; }
  std::optional<Miss> mismatch(const Observation& seen) const override {
    const auto& c = seen.client;
    const bool ended = c.ending == Ending::closed_early || c.ending == Ending::reset;
    if (ended && c.raw_total == 0 && !c.header_complete) return std::nullopt;
    if (ended) return Miss{fmt::format("the proxy sent {} bytes before the connection ended", c.raw_total)};
    if (c.ending == Ending::timed_out) return Miss{"the proxy neither answered nor closed the connection"};
    return Miss{"the proxy sent a response"};
  }

 private:
  std::string reason_;
};

std::shared_ptr<const Check> parse(FileContext& cx, const toml::node& n) {
  auto reason = n.value<std::string>();
  if (!reason || reason->size() < 10) {
    cx.error(n,
             "no_response takes the reason it is acceptable, with the RFC text that allows it: no_response = "
             "\"RFC 9112 §9.6: ...\" (at least 10 characters)");
    return nullptr;
  }
  return std::make_shared<NoResponse>(std::move(*reason));
}

}  // namespace

extern const CheckDef no_response_check = {
    .key = "no_response",
    .order = 35,
    .example = "`no_response = \"RFC … allows it because …\"`",
    .toml_example = "no_response = \"RFC 9112 §9.6: the reason it is allowed\"",
    .holds =
        "the proxy closed or reset the client connection before any byte; the value is the reason the RFC allows "
        "it (without this check, no response satisfies no outcome)",
    .parse = parse,
};

}  // namespace upfault
