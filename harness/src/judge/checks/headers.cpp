// headers: these fields have these values.
#include "judge/checks/check.hpp"

namespace upfault {
namespace {

class Headers final : public Check {
 public:
  explicit Headers(std::vector<Header> fields) : fields_(std::move(fields)) {}
  std::string_view key() const override { return "headers"; }
  std::string toml() const override { return "headers = " + toml_fields(fields_); }
  std::string describe() const override {
    std::string out;
    for (const auto& [n, v] : fields_)
      out += (out.empty() ? "header " : " with header ") + printable(n) + ": " + printable(v);
    return out;
  }
  std::optional<Miss> mismatch(const Observation& seen) const override {
    for (const auto& [name, want] : fields_) {
      auto v = field_values(seen.client, name);
      if (v.empty()) return Miss{fmt::format("header {} is missing", name)};
      if (auto got = joined(v); got != want)
        return Miss{fmt::format("header {} is \"{}\", not \"{}\"", name, printable(got), printable(want))};
    }
    return std::nullopt;
  }

 private:
  std::vector<Header> fields_;
};

std::shared_ptr<const Check> parse(FileContext& cx, const toml::node& n) {
  auto fields = load_headers(cx, n);
  if (fields.empty()) return nullptr;
  return std::make_shared<Headers>(std::move(fields));
}

}  // namespace

extern const CheckDef headers_check = {
    .key = "headers",
    .order = 60,
    .example = "`headers = [\"X-A: 1\"]`",
    .toml_example = "headers = [\"X-A: 1\"]",
    .holds = "these fields have these values (several lines joined with \", \")",
    .parse = parse,
};

}  // namespace upfault
