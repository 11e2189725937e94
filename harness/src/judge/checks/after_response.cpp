// after_response: exactly these bytes followed the complete response before the proxy closed
// the connection ("" for nothing). A proxy that relays bytes the upstream sent past the end of
// its response hands the client a second, smuggled response.
#include "judge/checks/check.hpp"

namespace upfault {
namespace {

class AfterResponse final : public Check {
 public:
  explicit AfterResponse(std::string bytes) : bytes_(std::move(bytes)) {}
  std::string_view key() const override { return "after_response"; }
  std::string toml() const override { return "after_response = " + toml_quote(bytes_); }
  std::string describe() const override {
    return bytes_.empty() ? "nothing after the response" : fmt::format("\"{}\" after the response", printable(bytes_));
  }
  bool reads_past_response() const override { return true; }
  std::optional<Miss> mismatch(const Observation& seen) const override {
    const auto& c = seen.client;
    // The last request said Connection: close, so the proxy owes a close after its response
    // (RFC 9112 §9.6); without one, what follows the response is not known.
    if (!c.closed_after)
      return Miss{
          fmt::format("the proxy did not close the connection after the response, though the request said "
                      "Connection: close ({} bytes followed it before the client gave up)",
                      c.after_total)};
    if (c.after_total == bytes_.size() && c.after == bytes_) return std::nullopt;
    return Miss{fmt::format("the proxy sent {} bytes after the complete response: \"{}\"", c.after_total,
                            printable(c.after, 120))};
  }

 private:
  std::string bytes_;
};

std::shared_ptr<const Check> parse(FileContext& cx, const toml::node& n) {
  auto bytes = cx.string(n, "after_response");
  if (!bytes) return nullptr;
  return std::make_shared<AfterResponse>(std::move(*bytes));
}

}  // namespace

extern const CheckDef after_response_check = {
    .key = "after_response",
    .order = 85,
    .example = "`after_response = \"\"`",
    .toml_example = "after_response = \"\"",
    .holds =
        "exactly these bytes followed the complete response, and then the proxy closed the connection (`\"\"`: none; "
        "the client reads on to the close, which the last request's Connection: close asks for)",
    .parse = parse,
};

}  // namespace upfault
