// h2_settings: a SETTINGS frame with the given parameters, or its ACK.
#include "model/scenario_toml.hpp"
#include "upstream/steps/h2_step.hpp"

namespace upfault {
namespace {

constexpr std::pair<std::string_view, std::uint16_t> kParameters[] = {
    {"header_table_size", 1},   {"enable_push", 2},    {"max_concurrent_streams", 3},
    {"initial_window_size", 4}, {"max_frame_size", 5}, {"max_header_list_size", 6}};

class H2Settings final : public H2Step {
 public:
  H2Settings(std::string toml, std::string payload, bool ack)
      : H2Step("h2_settings", std::move(toml)), payload_(std::move(payload)), ack_(ack) {}

 protected:
  std::optional<std::string> frames(h2::Session&) const override {
    return h2::serialize_frame(h2::kSettings, ack_ ? h2::kAck : 0, 0, payload_);
  }

 private:
  std::string payload_;
  bool ack_;
};

std::shared_ptr<const UpstreamStep> parse(FileContext& cx, const toml::node& value) {
  if (value.value<bool>() == true) return std::make_shared<H2Settings>("h2_settings = true", "", false);
  const auto* t = h2_table(cx, value, "h2_settings",
                           {"ack", "header_table_size", "enable_push", "max_concurrent_streams", "initial_window_size",
                            "max_frame_size", "max_header_list_size"});
  if (!t) return nullptr;
  const auto ack = h2_bool(cx, *t, "ack", false);
  std::string payload;
  for (const auto& [key, id] : kParameters) {
    if (!t->get(key)) continue;
    const auto v = h2_number(cx, *t, key, 0xffffffffu, 0);
    if (!v) continue;
    h2::put_u16(payload, id);
    h2::put_u32(payload, *v);
  }
  if (!cx.ok() || !ack) return nullptr;
  return std::make_shared<H2Settings>(h2_toml("h2_settings", value), std::move(payload), *ack);
}

}  // namespace

extern const StepDef h2_settings_step = {
    .key = "h2_settings",
    .order = 230,
    .summary = "HTTP/2: send SETTINGS: true (empty) or { ack, max_frame_size, initial_window_size, ... }",
    .doc =
        "HTTP/2: a SETTINGS frame. `true` sends an empty one (the server's preface); a table sets\n"
        "parameters by name (`header_table_size`, `enable_push`, `max_concurrent_streams`,\n"
        "`initial_window_size`, `max_frame_size`, `max_header_list_size`: any value, valid or not, in the\n"
        "order of that list); `ack = true` sends the ACK of the proxy's SETTINGS. The server has already\n"
        "sent an empty SETTINGS (its preface) when the proxy's preface arrived (some proxies send no request\n"
        "before it), so this one comes second.\n",
    .example =
        "[[upstream.steps]]\n"
        "h2_settings = { max_frame_size = 16384 }\n"
        "[[upstream.steps]]\n"
        "h2_settings = { ack = true }\n",
    .parse = parse,
    .example_protocol = UpstreamProtocol::h2c,
};

}  // namespace upfault
