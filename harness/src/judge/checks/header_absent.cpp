// header_absent: these fields are not in the response.
#include "judge/checks/check.hpp"

namespace upfault {
namespace {

class HeaderAbsent final : public Check {
 public:
  explicit HeaderAbsent(std::vector<std::string> names) : names_(std::move(names)) {}
  std::string_view key() const override { return "header_absent"; }
  std::string toml() const override { return "header_absent = " + toml_strings(names_); }
  std::string describe() const override {
    std::string out;
    for (const auto& n : names_) out += (out.empty() ? "no header " : " with no header ") + n;
    return out;
  }
  std::optional<Miss> mismatch(const Observation& seen) const override {
    for (const auto& name : names_)
      if (auto v = field_values(seen.client, name); !v.empty())
        return Miss{fmt::format("header {} is present (\"{}\")", name, printable(joined(v)))};
    return std::nullopt;
  }

 private:
  std::vector<std::string> names_;
};

std::shared_ptr<const Check> parse(FileContext& cx, const toml::node& n) {
  auto names = load_names(cx, n, "header_absent");
  if (!names || names->empty()) return nullptr;
  return std::make_shared<HeaderAbsent>(std::move(*names));
}

}  // namespace

extern const CheckDef header_absent_check = {
    .key = "header_absent",
    .order = 50,
    .example = "`header_absent = [\"Keep-Alive\"]`",
    .toml_example = "header_absent = [\"Keep-Alive\"]",
    .holds = "these fields are not",
    .parse = parse,
};

}  // namespace upfault
