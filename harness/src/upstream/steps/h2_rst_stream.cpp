// h2_rst_stream: reset a stream with an error code.
#include "model/scenario_toml.hpp"
#include "upstream/steps/h2_step.hpp"

namespace upfault {
namespace {

class H2RstStream final : public H2Step {
 public:
  H2RstStream(std::string toml, std::uint32_t code, StreamRef stream)
      : H2Step("h2_rst_stream", std::move(toml)), code_(code), stream_(stream) {}

 protected:
  std::optional<std::string> frames(h2::Session& s) const override {
    std::string payload;
    h2::put_u32(payload, code_);
    return h2::serialize_frame(h2::kRstStream, 0, stream_.resolve(s), payload);
  }

 private:
  std::uint32_t code_;
  StreamRef stream_;
};

std::shared_ptr<const UpstreamStep> parse(FileContext& cx, const toml::node& value) {
  if (auto name = value.value<std::string>()) {
    if (auto code = h2::error_from_name(*name))
      return std::make_shared<H2RstStream>(h2_toml("h2_rst_stream", value), *code, StreamRef{});
    cx.error(value, "h2_rst_stream: an error code's name (\"cancel\", \"internal_error\", ...) or a table");
    return nullptr;
  }
  const auto* t = h2_table(cx, value, "h2_rst_stream", {"error", "stream"});
  if (!t) return nullptr;
  const auto code = h2_error_code(cx, *t, "error", 8);  // CANCEL
  const auto stream = h2_stream(cx, *t);
  if (!code || !stream) return nullptr;
  return std::make_shared<H2RstStream>(h2_toml("h2_rst_stream", value), *code, *stream);
}

}  // namespace

extern const StepDef h2_rst_stream_step = {
    .key = "h2_rst_stream",
    .order = 240,
    .summary = "HTTP/2: send RST_STREAM: an error code's name, or { error, stream }",
    .doc =
        "HTTP/2: reset the request's stream (or `stream`) with an error code, by name (`\"no_error\"`,\n"
        "`\"protocol_error\"`, `\"internal_error\"`, `\"refused_stream\"`, `\"cancel\"`, …) or number;\n"
        "default `cancel`.\n",
    .example =
        "[[upstream.steps]]\n"
        "h2_rst_stream = \"internal_error\"\n",
    .parse = parse,
    .example_protocol = UpstreamProtocol::h2c,
};

}  // namespace upfault
