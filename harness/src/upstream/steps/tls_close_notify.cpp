// tls_close_notify: send TLS's close_notify alert, the clean end of a TLS connection.
#include "upstream/connection.hpp"
#include "upstream/steps/step.hpp"

namespace upfault {
namespace {

class CloseNotify final : public UpstreamStep {
 public:
  std::string_view kind() const override { return "tls_close_notify"; }
  std::string toml() const override { return "tls_close_notify = true"; }
  bool needs_tls() const override { return true; }
  net::awaitable<Flow> run(upstream::Connection& c) const override {
    co_return co_await c.tls_close_notify() ? Flow::next : Flow::stop;
  }
};

std::shared_ptr<const UpstreamStep> parse(FileContext& cx, const toml::node& value) {
  if (value.value<bool>() != true) {
    cx.error(value, "write tls_close_notify = true");
    return nullptr;
  }
  return std::make_shared<CloseNotify>();
}

}  // namespace

extern const StepDef tls_close_notify_step = {
    .key = "tls_close_notify",
    .order = 100,
    .summary = "TLS: send close_notify (the clean end of a TLS connection); the TCP connection stays open",
    .doc =
        "Send TLS's `close_notify` alert, which says the upstream sends no more data; the TCP connection\n"
        "stays open (a `close = \"fin\"` after it ends it). RFC 9112 §9.8: without a close_notify before the\n"
        "FIN, a close is incomplete, and a response delimited by the close must not be taken as complete.\n",
    .example = "[[upstream.steps]]\ntls_close_notify = true\n",
    .parse = parse,
    .example_protocol = UpstreamProtocol::https,
};

}  // namespace upfault
