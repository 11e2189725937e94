// h2_frame: any HTTP/2 frame — type, flags, stream, payload — exactly as written.
#include "model/scenario_toml.hpp"
#include "upstream/steps/h2_step.hpp"

namespace upfault {
namespace {

class H2Frame final : public H2Step {
 public:
  H2Frame(std::string toml, std::uint8_t type, std::uint8_t flags, StreamRef stream, std::string payload,
          std::optional<std::uint32_t> length)
      : H2Step("h2_frame", std::move(toml)),
        type_(type),
        flags_(flags),
        stream_(stream),
        payload_(std::move(payload)),
        length_(length) {}

 protected:
  std::optional<std::string> frames(h2::Session& s) const override {
    const auto stream = stream_.resolve(s);
    if (length_) return h2::serialize_frame_raw(*length_, type_, flags_, stream, payload_);
    return h2::serialize_frame(type_, flags_, stream, payload_);
  }

 private:
  std::uint8_t type_, flags_;
  StreamRef stream_;
  std::string payload_;
  std::optional<std::uint32_t> length_;
};

std::optional<std::uint8_t> frame_type(FileContext& cx, const toml::table& t) {
  const auto* n = t.get("type");
  if (!n) {
    cx.error(t, "h2_frame needs a type: a name (\"data\", \"headers\", ...) or a number 0-255");
    return std::nullopt;
  }
  if (auto s = n->value<std::string>())
    if (auto type = h2::type_from_name(*s)) return type;
  if (auto i = integer(*n); i && *i >= 0 && *i <= 255) return static_cast<std::uint8_t>(*i);
  cx.error(*n, "type must be a frame type's name (\"data\", \"push_promise\", ...) or a number 0-255");
  return std::nullopt;
}

std::shared_ptr<const UpstreamStep> parse(FileContext& cx, const toml::node& value) {
  const auto* t = h2_table(cx, value, "h2_frame", {"type", "flags", "stream", "payload", "hex", "length"});
  if (!t) return nullptr;
  const auto type = frame_type(cx, *t);
  const auto flags = h2_number(cx, *t, "flags", 255, 0);
  const auto stream = h2_stream(cx, *t);
  const auto length = t->get("length") ? h2_number(cx, *t, "length", (1u << 24) - 1, 0) : std::nullopt;
  std::optional<std::string> payload = std::string();
  if (const auto* p = t->get("payload")) payload = load_bytes(cx, *p, "payload");
  if (const auto* h = t->get("hex")) payload = load_bytes(cx, *h, "hex");
  if (!type || !flags || !stream || !payload || (t->get("length") && !length)) return nullptr;
  return std::make_shared<H2Frame>(h2_toml("h2_frame", value), *type, static_cast<std::uint8_t>(*flags), *stream,
                                   std::move(*payload), length);
}

}  // namespace

extern const StepDef h2_frame_step = {
    .key = "h2_frame",
    .order = 200,
    .summary = "HTTP/2: send any frame: { type, flags, stream, payload | hex, length }",
    .doc =
        "HTTP/2 (`[upstream] protocol = \"h2c\"` or `\"h2\"`): send one frame exactly as written. `type` is a\n"
        "name (`\"data\"`, `\"headers\"`, `\"push_promise\"`, …) or a number; `flags` a number (default 0);\n"
        "`stream` is `\"request\"` (the stream of the request being served, the default) or a number;\n"
        "the payload is `payload` (text) or `hex`; `length` writes another value in the length field\n"
        "than the payload's size.\n",
    .example =
        "[[upstream.steps]]\n"
        "h2_frame = { type = \"push_promise\", flags = 4, stream = \"request\", hex = \"00 00 00 02 82 84 86\" }\n",
    .parse = parse,
    .example_protocol = UpstreamProtocol::h2c,
};

}  // namespace upfault
