// delay: wait before the next step.
#include "upstream/connection.hpp"
#include "upstream/steps/step.hpp"

namespace upfault {
namespace {

class Delay final : public UpstreamStep {
 public:
  explicit Delay(DurationExpr d) : duration_(std::move(d)) {}
  std::string_view kind() const override { return "delay"; }
  std::string toml() const override { return "delay = " + toml_quote(duration_.text()); }
  net::awaitable<Flow> run(upstream::Connection& c) const override {
    co_await c.wait_until(net::Clock::now() + c.resolve(duration_));
    co_return Flow::next;
  }

 private:
  DurationExpr duration_;
};

std::shared_ptr<const UpstreamStep> parse(FileContext& cx, const toml::node& value) {
  auto d = cx.duration(value, "delay");
  if (!d) return nullptr;
  return std::make_shared<Delay>(*d);
}

}  // namespace

extern const StepDef delay_step = {
    .key = "delay",
    .order = 60,
    .summary = "wait, e.g. \"300ms\" or \"1.5 * read_timeout\"",
    .doc = "Wait before the next step.\n",
    .example = "[[upstream.steps]]\ndelay = \"1.5 * read_timeout\"\n",
    .parse = parse,
};

}  // namespace upfault
