// earlier_status: with repeated requests, every response before the judged (last) one was
// complete with one of these status codes — each response is expected, not only the last.
#include "judge/checks/check.hpp"
#include "upfault/verdict.hpp"

namespace upfault {
namespace {

class EarlierStatus final : public Check {
 public:
  explicit EarlierStatus(std::vector<int> codes) : codes_(std::move(codes)) {}
  std::string_view key() const override { return "earlier_status"; }
  std::string toml() const override {
    if (codes_.size() == 1) return fmt::format("earlier_status = {}", codes_[0]);
    return fmt::format("earlier_status = [{}]", fmt::join(codes_, ", "));
  }
  std::string describe() const override { return fmt::format("earlier responses {:03}", fmt::join(codes_, " or ")); }
  bool needs_response() const override { return false; }
  std::optional<std::string> validate(const Scenario& s, const Outcome&) const override {
    if (s.request.repeat >= 2) return std::nullopt;
    return "earlier_status needs repeat = 2 or more in [request] (with one request there is no earlier response)";
  }
  std::optional<Miss> mismatch(const Observation& seen) const override {
    const auto& earlier = seen.client.earlier;
    if (static_cast<int>(earlier.size()) + 1 < seen.scenario.request.repeat)
      return Miss{fmt::format("only {} of the earlier responses were recorded", earlier.size())};
    for (const auto& r : earlier) {
      const bool ok =
          r.ending == Ending::complete && std::find(codes_.begin(), codes_.end(), r.response->status) != codes_.end();
      if (!ok) return Miss{fmt::format("the response to request {} was {}", r.request, upfault::describe(r))};
    }
    return std::nullopt;
  }

 private:
  std::vector<int> codes_;
};

std::shared_ptr<const Check> parse(FileContext& cx, const toml::node& n) {
  auto codes = load_status_codes(cx, n, "earlier_status");
  if (codes.empty()) return nullptr;
  return std::make_shared<EarlierStatus>(std::move(codes));
}

}  // namespace

extern const CheckDef earlier_status_check = {
    .key = "earlier_status",
    .order = 12,
    .example = "`earlier_status = 200` or `earlier_status = [200, 502]`",
    .toml_example = "earlier_status = [200, 502]",
    .holds =
        "with `repeat`, every response before the last was complete with one of these codes (the other checks judge "
        "the last)",
    .parse = parse,
};

}  // namespace upfault
