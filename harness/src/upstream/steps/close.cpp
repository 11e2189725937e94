// close: end the connection with FIN or RST.
#include "upstream/connection.hpp"
#include "upstream/steps/step.hpp"

namespace upfault {
namespace {

class Close final : public UpstreamStep {
 public:
  explicit Close(bool reset) : reset_(reset) {}
  std::string_view kind() const override { return "close"; }
  std::string toml() const override { return reset_ ? "close = \"rst\"" : "close = \"fin\""; }
  bool ends_connection() const override { return true; }
  net::awaitable<Flow> run(upstream::Connection& c) const override {
    if (reset_)
      c.close_rst();
    else
      co_await c.close_fin(false);  // over TLS: no close_notify (tls_close_notify sends one)
    co_return Flow::stop;
  }

 private:
  bool reset_;
};

std::shared_ptr<const UpstreamStep> parse(FileContext& cx, const toml::node& value) {
  auto s = value.value<std::string>();
  if (s == "fin") return std::make_shared<Close>(false);
  if (s == "rst") return std::make_shared<Close>(true);
  cx.error(value, "close must be \"fin\" or \"rst\"");
  return nullptr;
}

}  // namespace

extern const StepDef close_step = {
    .key = "close",
    .order = 80,
    .summary = "end the connection: \"fin\" (shutdown, then close) or \"rst\" (reset, SO_LINGER 0)",
    .doc =
        "End the connection: `\"fin\"` shuts down, drains what the proxy still sends, then closes (so the\n"
        "kernel sends FIN, not RST); `\"rst\"` closes with SO_LINGER 0, so the kernel sends RST. Over TLS, `\"fin\"`\n"
        "sends no close_notify first (RFC 9112 §9.8 calls that an incomplete close): put a `tls_close_notify` step\n"
        "before it for a clean close.\n",
    .example = "[[upstream.steps]]\nclose = \"rst\"\n",
    .parse = parse,
};

}  // namespace upfault
