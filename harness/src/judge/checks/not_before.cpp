// not_before: the exchange ended no sooner than this.
#include "judge/checks/check.hpp"

namespace upfault {
namespace {

class NotBefore final : public Check {
 public:
  explicit NotBefore(DurationExpr d) : bound_(std::move(d)) {}
  std::string_view key() const override { return "not_before"; }
  std::string describe() const override { return ""; }  // timing shows in the verdict's note
  std::string toml() const override { return "not_before = " + toml_quote(bound_.text()); }
  bool needs_response() const override { return false; }
  bool timed() const override { return true; }
  std::optional<Miss> mismatch(const Observation& seen) const override {
    const auto limit = bound_.resolve(seen.timeouts);
    if (seen.client.elapsed >= limit) return std::nullopt;
    return Miss{fmt::format("it ended after {}, sooner than not_before = \"{}\" ({})",
                            format_millis(seen.client.elapsed), bound_.text(), format_millis(limit))};
  }

 private:
  DurationExpr bound_;
};

std::shared_ptr<const Check> parse(FileContext& cx, const toml::node& n) {
  auto d = cx.duration(n, "not_before");
  if (!d) return nullptr;
  return std::make_shared<NotBefore>(*d);
}

}  // namespace

extern const CheckDef not_before_check = {
    .key = "not_before",
    .order = 120,
    .example = "`not_before = DURATION`",
    .toml_example = "not_before = \"0.5 * read_timeout\"",
    .holds = "the exchange ended no sooner than this",
    .parse = parse,
};

}  // namespace upfault
