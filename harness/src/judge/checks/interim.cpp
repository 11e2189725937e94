// interim: these 1xx responses reached the client before the final one, in order.
#include "judge/checks/check.hpp"

namespace upfault {
namespace {

class Interim final : public Check {
 public:
  explicit Interim(std::vector<int> codes) : codes_(std::move(codes)) {}
  std::string_view key() const override { return "interim"; }
  std::string describe() const override { return fmt::format("interim {}", fmt::join(codes_, ", ")); }
  std::string toml() const override { return fmt::format("interim = [{}]", fmt::join(codes_, ", ")); }
  std::optional<Miss> mismatch(const Observation& seen) const override {
    const auto& got = seen.client.interim;
    if (got == codes_) return std::nullopt;
    if (got.empty()) return Miss{fmt::format("no interim response arrived (wanted {})", fmt::join(codes_, ", "))};
    return Miss{fmt::format("interim responses were {}", fmt::join(got, ", "))};
  }

 private:
  std::vector<int> codes_;
};

std::shared_ptr<const Check> parse(FileContext& cx, const toml::node& n) {
  auto* a = n.as_array();
  if (!a) {
    cx.error(n, "interim must be an array of 1xx status codes ([] for none)");
    return nullptr;
  }
  std::vector<int> codes;
  for (auto&& v : *a) {
    auto code = integer(v);
    if (!code || *code < 100 || *code > 199)
      cx.error(v, "interim lists 1xx status codes");
    else
      codes.push_back(static_cast<int>(*code));
  }
  return std::make_shared<Interim>(std::move(codes));
}

}  // namespace

extern const CheckDef interim_check = {
    .key = "interim",
    .order = 90,
    .example = "`interim = [103]`",
    .toml_example = "interim = [103]",
    .holds = "these 1xx responses reached the client before the final one (`[]`: none)",
    .parse = parse,
};

}  // namespace upfault
