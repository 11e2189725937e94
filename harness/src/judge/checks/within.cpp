// within: the exchange ended no later than this.
#include "judge/checks/check.hpp"

namespace upfault {
namespace {

class Within final : public Check {
 public:
  explicit Within(DurationExpr d) : bound_(std::move(d)) {}
  std::string_view key() const override { return "within"; }
  std::string describe() const override { return ""; }  // timing shows in the verdict's note
  std::string toml() const override { return "within = " + toml_quote(bound_.text()); }
  bool needs_response() const override { return false; }
  bool timed() const override { return true; }
  std::optional<DurationExpr> latest() const override { return bound_; }
  std::optional<Miss> mismatch(const Observation& seen) const override {
    const auto limit = bound_.resolve(seen.timeouts);
    if (seen.client.elapsed <= limit) return std::nullopt;
    return Miss{fmt::format("it ended after {}, later than within = \"{}\" ({})", format_millis(seen.client.elapsed),
                            bound_.text(), format_millis(limit))};
  }

 private:
  DurationExpr bound_;
};

std::shared_ptr<const Check> parse(FileContext& cx, const toml::node& n) {
  auto d = cx.duration(n, "within");
  if (!d) return nullptr;
  return std::make_shared<Within>(*d);
}

}  // namespace

extern const CheckDef within_check = {
    .key = "within",
    .order = 110,
    .example = "`within = DURATION`",
    .toml_example = "within = \"2 * read_timeout\"",
    .holds = "the exchange ended no later than this",
    .parse = parse,
};

}  // namespace upfault
