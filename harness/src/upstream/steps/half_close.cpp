// half_close: shut down the upstream's sending side and keep reading.
#include "upstream/connection.hpp"
#include "upstream/steps/step.hpp"

namespace upfault {
namespace {

class HalfClose final : public UpstreamStep {
 public:
  std::string_view kind() const override { return "half_close"; }
  std::string toml() const override { return "half_close = true"; }
  net::awaitable<Flow> run(upstream::Connection& c) const override {
    c.half_close();
    co_return Flow::next;
  }
};

std::shared_ptr<const UpstreamStep> parse(FileContext& cx, const toml::node& value) {
  if (value.value<bool>() != true) {
    cx.error(value, "write half_close = true");
    return nullptr;
  }
  return std::make_shared<HalfClose>();
}

}  // namespace

extern const StepDef half_close_step = {
    .key = "half_close",
    .order = 70,
    .summary = "shut down our sending side (FIN) and keep reading",
    .doc = "Shut down the upstream's sending side (the proxy reads EOF) and keep reading.\n",
    .example = "[[upstream.steps]]\nhalf_close = true\n",
    .parse = parse,
};

}  // namespace upfault
