// h2_headers: a HEADERS frame from a header list (HPACK-encoded) or a raw block in hex.
#include "model/scenario_toml.hpp"
#include "upstream/steps/h2_step.hpp"

namespace upfault {
namespace {

class H2Headers final : public H2Step {
 public:
  H2Headers(std::string toml, std::optional<std::vector<h2::Field>> fields, std::string raw, std::uint8_t flags,
            StreamRef stream)
      : H2Step("h2_headers", std::move(toml)),
        fields_(std::move(fields)),
        raw_(std::move(raw)),
        flags_(flags),
        stream_(stream) {}

 protected:
  std::optional<std::string> frames(h2::Session& s) const override {
    auto block = fields_ ? s.encode(*fields_) : std::optional<std::string>(raw_);
    if (!block) return std::nullopt;
    return h2::serialize_frame(h2::kHeaders, flags_, stream_.resolve(s), *block);
  }

 private:
  std::optional<std::vector<h2::Field>> fields_;
  std::string raw_;
  std::uint8_t flags_;
  StreamRef stream_;
};

std::shared_ptr<const UpstreamStep> parse(FileContext& cx, const toml::node& value) {
  const auto* t = h2_table(cx, value, "h2_headers", {"headers", "hex", "end_stream", "end_headers", "stream"});
  if (!t) return nullptr;
  std::optional<std::vector<h2::Field>> fields;
  std::optional<std::string> raw = std::string();
  if (const auto* h = t->get("headers")) fields = h2_fields(cx, *h);
  if (const auto* h = t->get("hex")) raw = load_bytes(cx, *h, "hex");
  if (t->get("headers") && t->get("hex")) cx.error(value, "h2_headers takes headers or hex, not both");
  if (!t->get("headers") && !t->get("hex")) cx.error(value, "h2_headers needs headers (a list) or hex (a raw block)");
  const auto end_stream = h2_bool(cx, *t, "end_stream", false);
  const auto end_headers = h2_bool(cx, *t, "end_headers", true);
  const auto stream = h2_stream(cx, *t);
  if (!cx.ok() || !raw || !end_stream || !end_headers || !stream) return nullptr;
  const auto flags =
      static_cast<std::uint8_t>((*end_stream ? h2::kEndStream : 0) | (*end_headers ? h2::kEndHeaders : 0));
  return std::make_shared<H2Headers>(h2_toml("h2_headers", value), std::move(fields), std::move(*raw), flags, *stream);
}

}  // namespace

extern const StepDef h2_headers_step = {
    .key = "h2_headers",
    .order = 210,
    .summary = "HTTP/2: send HEADERS: { headers | hex, end_stream, end_headers, stream }",
    .doc =
        "HTTP/2: a HEADERS frame. `headers` is a header list, HPACK-encoded as written (case, order,\n"
        "duplicates and invalid fields kept: `\":status: 200\"` or `[\":status\", \"200\"]`); `hex` is a raw\n"
        "header block instead (for blocks that cannot be decoded). `end_stream` (default false) and\n"
        "`end_headers` (default true) set the flags; `stream` as in `h2_frame`. With `end_headers = false`,\n"
        "follow it with an `h2_frame` of type `\"continuation\"`. Trailers are a second `h2_headers` with\n"
        "`end_stream = true`.\n",
    .example =
        "[[upstream.steps]]\n"
        "h2_headers = { headers = [\":status: 200\", \"content-type: text/plain\"], end_stream = false }\n",
    .parse = parse,
    .example_protocol = UpstreamProtocol::h2c,
};

}  // namespace upfault
