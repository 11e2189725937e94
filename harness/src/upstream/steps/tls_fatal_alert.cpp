// tls_fatal_alert: send a fatal TLS alert, which ends the TLS session at once.
#include "upstream/connection.hpp"
#include "upstream/steps/step.hpp"

namespace upfault {
namespace {

class FatalAlert final : public UpstreamStep {
 public:
  std::string_view kind() const override { return "tls_fatal_alert"; }
  std::string toml() const override { return "tls_fatal_alert = true"; }
  bool needs_tls() const override { return true; }
  net::awaitable<Flow> run(upstream::Connection& c) const override {
    co_return co_await c.tls_fatal_alert() ? Flow::next : Flow::stop;
  }
};

std::shared_ptr<const UpstreamStep> parse(FileContext& cx, const toml::node& value) {
  if (value.value<bool>() != true) {
    cx.error(value, "write tls_fatal_alert = true");
    return nullptr;
  }
  return std::make_shared<FatalAlert>();
}

}  // namespace

extern const StepDef tls_fatal_alert_step = {
    .key = "tls_fatal_alert",
    .order = 103,
    .summary = "TLS: send a fatal alert (bad_record_mac), which ends the TLS session; the TCP connection stays open",
    .doc =
        "Send a fatal TLS alert, `bad_record_mac`, protected like every record of the session (encrypted,\n"
        "in TLS 1.3). RFC 8446 §6.2: a fatal alert ends the connection at once, and nothing the upstream\n"
        "sent after it counts; what it sent before is all the proxy has. The TCP connection stays open\n"
        "(a `close = \"fin\"` after it ends it, as a TLS stack would). OpenSSL has no call that sends an\n"
        "alert, so the upstream feeds its own session a record no peer could have sent, and OpenSSL\n"
        "answers it with this alert.\n",
    .example = "[[upstream.steps]]\ntls_fatal_alert = true\n",
    .parse = parse,
    .example_protocol = UpstreamProtocol::https,
};

}  // namespace upfault
