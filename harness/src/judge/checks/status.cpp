// status: a complete response with one of these status codes.
#include "judge/checks/check.hpp"

namespace upfault {
namespace {

class Status final : public Check {
 public:
  explicit Status(std::vector<int> codes) : codes_(std::move(codes)) {}
  std::string_view key() const override { return "status"; }
  std::string toml() const override { return fmt::format("status = [{}]", fmt::join(codes_, ", ")); }
  std::string describe() const override {
    std::string out;
    for (std::size_t i = 0; i < codes_.size(); ++i) {
      if (i) out += i + 1 == codes_.size() ? " or " : ", ";
      out += fmt::format("{:03}", codes_[i]);
    }
    return out;
  }
  const std::vector<int>* statuses() const override { return &codes_; }
  std::optional<Miss> mismatch(const Observation& seen) const override {
    const int got = seen.client.response->status;
    if (std::find(codes_.begin(), codes_.end(), got) != codes_.end()) return std::nullopt;
    return Miss{fmt::format("status {:03}", got), false};  // the verdict's "got" already names the status
  }

 private:
  std::vector<int> codes_;
};

std::shared_ptr<const Check> parse(FileContext& cx, const toml::node& n) {
  auto codes = load_status_codes(cx, n, "status");
  if (codes.empty()) return nullptr;
  return std::make_shared<Status>(std::move(codes));
}

}  // namespace

extern const CheckDef status_check = {
    .key = "status",
    .order = 10,
    .example = "`status = 502` or `status = [502, 504]`",
    .toml_example = "status = [502, 504]",
    .holds = "a complete response with one of these codes",
    .parse = parse,
};

}  // namespace upfault
