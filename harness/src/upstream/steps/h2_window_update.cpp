// h2_window_update: WINDOW_UPDATE for the connection or a stream.
#include "model/scenario_toml.hpp"
#include "upstream/steps/h2_step.hpp"

namespace upfault {
namespace {

class H2WindowUpdate final : public H2Step {
 public:
  H2WindowUpdate(std::string toml, std::uint32_t increment, StreamRef stream)
      : H2Step("h2_window_update", std::move(toml)), increment_(increment), stream_(stream) {}

 protected:
  std::optional<std::string> frames(h2::Session& s) const override {
    std::string payload;
    h2::put_u32(payload, increment_);
    return h2::serialize_frame(h2::kWindowUpdate, 0, stream_.resolve(s), payload);
  }

 private:
  std::uint32_t increment_;
  StreamRef stream_;
};

std::shared_ptr<const UpstreamStep> parse(FileContext& cx, const toml::node& value) {
  const auto* t = h2_table(cx, value, "h2_window_update", {"increment", "stream"});
  if (!t) return nullptr;
  const auto increment = h2_number(cx, *t, "increment", 0x7fffffff, 65535);
  const auto stream = h2_stream(cx, *t, StreamRef{false, 0});
  if (!increment || !stream) return nullptr;
  return std::make_shared<H2WindowUpdate>(h2_toml("h2_window_update", value), *increment, *stream);
}

}  // namespace

extern const StepDef h2_window_update_step = {
    .key = "h2_window_update",
    .order = 270,
    .summary = "HTTP/2: send WINDOW_UPDATE: { increment, stream }",
    .doc =
        "HTTP/2: WINDOW_UPDATE of `increment` (default 65535; 0 is a protocol error) for `stream`\n"
        "(default 0, the connection; `\"request\"` for the request's stream).\n",
    .example =
        "[[upstream.steps]]\n"
        "h2_window_update = { increment = 65535, stream = 0 }\n",
    .parse = parse,
    .example_protocol = UpstreamProtocol::h2c,
};

}  // namespace upfault
