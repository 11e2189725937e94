// body: the response body is exactly this.
#include "judge/checks/check.hpp"

namespace upfault {
namespace {

class Body final : public Check {
 public:
  explicit Body(std::string body) : body_(std::move(body)) {}
  std::string_view key() const override { return "body"; }
  std::string describe() const override { return fmt::format("body \"{}\"", printable(body_)); }
  std::string toml() const override { return "body = " + toml_quote(body_); }
  std::optional<Miss> mismatch(const Observation& seen) const override {
    if (body_is(seen.client, body_)) return std::nullopt;
    return Miss{fmt::format("the body is not \"{}\"", printable(body_, 40))};
  }

 private:
  std::string body_;
};

std::shared_ptr<const Check> parse(FileContext& cx, const toml::node& n) {
  auto body = cx.string(n, "body");
  if (!body) return nullptr;
  return std::make_shared<Body>(std::move(*body));
}

}  // namespace

extern const CheckDef body_check = {
    .key = "body",
    .order = 80,
    .example = "`body = \"…\"`",
    .toml_example = "body = \"ok\"",
    .holds = "the body is exactly this",
    .parse = parse,
};

}  // namespace upfault
