// header_present: these fields are in the response.
#include "judge/checks/check.hpp"

namespace upfault {
namespace {

class HeaderPresent final : public Check {
 public:
  explicit HeaderPresent(std::vector<std::string> names) : names_(std::move(names)) {}
  std::string_view key() const override { return "header_present"; }
  std::string toml() const override { return "header_present = " + toml_strings(names_); }
  std::string describe() const override {
    std::string out;
    for (const auto& n : names_) out += (out.empty() ? "header " : " with header ") + n;
    return out;
  }
  std::optional<Miss> mismatch(const Observation& seen) const override {
    for (const auto& name : names_)
      if (field_values(seen.client, name).empty()) return Miss{fmt::format("header {} is missing", name)};
    return std::nullopt;
  }

 private:
  std::vector<std::string> names_;
};

std::shared_ptr<const Check> parse(FileContext& cx, const toml::node& n) {
  auto names = load_names(cx, n, "header_present");
  if (!names || names->empty()) return nullptr;
  return std::make_shared<HeaderPresent>(std::move(*names));
}

}  // namespace

extern const CheckDef header_present_check = {
    .key = "header_present",
    .order = 40,
    .example = "`header_present = [\"X-A\"]`",
    .toml_example = "header_present = [\"X-A\"]",
    .holds = "these fields are in the response",
    .parse = parse,
};

}  // namespace upfault
