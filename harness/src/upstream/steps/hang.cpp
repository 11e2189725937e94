// hang: hold the connection open, reading and discarding.
#include "upstream/connection.hpp"
#include "upstream/steps/step.hpp"

namespace upfault {
namespace {

class Hang final : public UpstreamStep {
 public:
  explicit Hang(std::optional<DurationExpr> d) : duration_(std::move(d)) {}
  std::string_view kind() const override { return "hang"; }
  std::string toml() const override { return duration_ ? "hang = " + toml_quote(duration_->text()) : "hang = true"; }
  bool ends_connection() const override { return true; }
  net::awaitable<Flow> run(upstream::Connection& c) const override {
    std::optional<Millis> d;
    if (duration_) d = c.resolve(*duration_);
    co_await c.hang(d);
    co_return Flow::stop;
  }

 private:
  std::optional<DurationExpr> duration_;
};

std::shared_ptr<const UpstreamStep> parse(FileContext& cx, const toml::node& value) {
  if (auto b = value.value<bool>()) {
    if (!*b) {
      cx.error(value, "hang = false does nothing; remove the step");
      return nullptr;
    }
    return std::make_shared<Hang>(std::nullopt);
  }
  auto d = cx.duration(value, "hang");
  if (!d) return nullptr;
  return std::make_shared<Hang>(*d);
}

}  // namespace

extern const StepDef hang_step = {
    .key = "hang",
    .order = 90,
    .summary = "hold the connection open, reading and discarding: true (until the proxy gives up) or a duration",
    .doc =
        "Hold the connection open, reading and discarding, until the proxy closes it: `true` (bounded by\n"
        "the upstream's 120 s connection cap) or a duration, after which the upstream closes with FIN.\n",
    .example = "[[upstream.steps]]\nhang = true\n",
    .parse = parse,
};

}  // namespace upfault
