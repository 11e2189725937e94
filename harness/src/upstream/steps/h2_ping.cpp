// h2_ping: PING (or its ACK) with 8 bytes of opaque data.
#include "model/scenario_toml.hpp"
#include "upstream/steps/h2_step.hpp"

namespace upfault {
namespace {

class H2Ping final : public H2Step {
 public:
  H2Ping(std::string toml, std::string data, bool ack)
      : H2Step("h2_ping", std::move(toml)), data_(std::move(data)), ack_(ack) {}

 protected:
  std::optional<std::string> frames(h2::Session&) const override {
    return h2::serialize_frame(h2::kPing, ack_ ? h2::kAck : 0, 0, data_);
  }

 private:
  std::string data_;
  bool ack_;
};

std::shared_ptr<const UpstreamStep> parse(FileContext& cx, const toml::node& value) {
  if (value.value<bool>() == true) return std::make_shared<H2Ping>("h2_ping = true", std::string(8, '\0'), false);
  const auto* t = h2_table(cx, value, "h2_ping", {"ack", "data", "hex"});
  if (!t) return nullptr;
  const auto ack = h2_bool(cx, *t, "ack", false);
  std::optional<std::string> data = std::string(8, '\0');
  if (const auto* d = t->get("data")) data = load_bytes(cx, *d, "data");
  if (const auto* h = t->get("hex")) data = load_bytes(cx, *h, "hex");
  if (!ack || !data) return nullptr;
  return std::make_shared<H2Ping>(h2_toml("h2_ping", value), std::move(*data), *ack);
}

}  // namespace

extern const StepDef h2_ping_step = {
    .key = "h2_ping",
    .order = 260,
    .summary = "HTTP/2: send PING: true, or { ack, data | hex }",
    .doc =
        "HTTP/2: PING with 8 zero bytes (`true`), or with `data`/`hex` as the payload (any length: 8 is\n"
        "valid) and `ack = true` for an ACK.\n",
    .example =
        "[[upstream.steps]]\n"
        "h2_ping = { data = \"12345678\" }\n",
    .parse = parse,
    .example_protocol = UpstreamProtocol::h2c,
};

}  // namespace upfault
