// tls_plaintext: bytes on the TCP connection as they are, outside TLS.
#include "upstream/connection.hpp"
#include "upstream/steps/step.hpp"

namespace upfault {
namespace {

class Plaintext final : public UpstreamStep {
 public:
  explicit Plaintext(std::string bytes) : bytes_(std::move(bytes)) {}
  std::string_view kind() const override { return "tls_plaintext"; }
  std::string toml() const override { return "tls_plaintext = " + toml_quote(bytes_); }
  bool needs_tls() const override { return true; }
  net::awaitable<Flow> run(upstream::Connection& c) const override {
    co_return co_await c.send_raw(bytes_) ? Flow::next : Flow::stop;
  }

 private:
  std::string bytes_;
};

std::shared_ptr<const UpstreamStep> parse(FileContext& cx, const toml::node& value) {
  auto s = cx.string(value, "tls_plaintext");
  if (!s) return nullptr;
  return std::make_shared<Plaintext>(std::move(*s));
}

}  // namespace

extern const StepDef tls_plaintext_step = {
    .key = "tls_plaintext",
    .order = 102,
    .summary = "TLS: send bytes on the TCP connection as they are, outside TLS (the proxy reads a bad record)",
    .doc =
        "Send bytes on the TCP connection unencrypted, between TLS records: the proxy reads them as a\n"
        "record that fails to decrypt (or has an unknown type), a fatal error of the TLS connection.\n",
    .example = "[[upstream.steps]]\ntls_plaintext = \"HTTP/1.1 200 OK\\r\\n\"\n",
    .parse = parse,
    .example_protocol = UpstreamProtocol::https,
};

}  // namespace upfault
