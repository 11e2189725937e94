// h2_response: a whole HTTP/2 response — SETTINGS if not sent yet, HEADERS, DATA, trailers.
#include "scenario_toml.hpp"
#include "steps/h2_step.hpp"

namespace upfault {
namespace {

struct Spec {
  std::vector<h2::Field> headers;  // :status first
  std::string body;
  std::vector<h2::Field> trailers;
};

class H2Response final : public H2Step {
 public:
  H2Response(std::string toml, Spec spec) : H2Step("h2_response", std::move(toml)), spec_(std::move(spec)) {
    image_ = render_http1();
  }
  // What passthrough compares with: the response as HTTP/1.1 would carry it.
  const std::string* sends() const override { return &image_; }

 protected:
  net::awaitable<bool> act(upstream::Connection& c, h2::Session& s) const override {
    const bool ok = co_await s.ensure_settings(c);
    if (!ok) co_return false;
    if (spec_.body.size() > kBatch) co_return co_await stream(c, s);
    co_return co_await H2Step::act(c, s);  // in one write
  }
  std::optional<std::string> frames(h2::Session& s) const override {
    const auto stream = s.request_stream();
    const bool has_body = !spec_.body.empty(), has_trailers = !spec_.trailers.empty();
    auto block = s.encode(spec_.headers);
    if (!block) return std::nullopt;
    const auto head_flags =
        static_cast<std::uint8_t>(h2::kEndHeaders | (has_body || has_trailers ? 0 : h2::kEndStream));
    std::string out = h2::serialize_frame(h2::kHeaders, head_flags, stream, *block);
    for (std::string_view rest = spec_.body; !rest.empty();) {
      const auto piece = rest.substr(0, s.peer_max_frame());
      rest.remove_prefix(piece.size());
      out += h2::serialize_frame(h2::kData, rest.empty() && !has_trailers ? h2::kEndStream : 0, stream, piece);
    }
    if (has_trailers) {
      auto trailers = s.encode(spec_.trailers);
      if (!trailers) return std::nullopt;
      out += h2::serialize_frame(h2::kHeaders, h2::kEndHeaders | h2::kEndStream, stream, *trailers);
    }
    return out;
  }

 private:
  static constexpr std::size_t kBatch = 64 * 1024;

  // A large body: its frames go out as they are built, at most kBatch bytes of them at once, so a
  // proxy that does not read holds no copy of the body here. A DATA frame larger than that (the
  // proxy's SETTINGS_MAX_FRAME_SIZE allows up to 16 MiB) is sent as its header, then its payload
  // straight from the step's body.
  net::awaitable<bool> stream(upstream::Connection& c, h2::Session& s) const {
    const auto stream = s.request_stream();
    const bool has_trailers = !spec_.trailers.empty();
    auto block = s.encode(spec_.headers);
    auto trailers = has_trailers ? s.encode(spec_.trailers) : std::optional<std::string>("");
    if (!block || !trailers) {
      c.fail(fmt::format("error: step {}: the frames could not be built", kind()));
      co_return false;
    }
    std::string out = h2::serialize_frame(h2::kHeaders, h2::kEndHeaders, stream, *block);
    for (std::string_view rest = spec_.body; !rest.empty();) {
      const auto piece = rest.substr(0, s.peer_max_frame());
      rest.remove_prefix(piece.size());
      const auto flags = static_cast<std::uint8_t>(rest.empty() && !has_trailers ? h2::kEndStream : 0);
      const bool inline_payload = piece.size() <= kBatch;
      out += inline_payload ? h2::serialize_frame(h2::kData, flags, stream, piece)
                            : h2::serialize_frame_raw(static_cast<std::uint32_t>(piece.size()), h2::kData, flags,
                                                      stream, "");
      if (out.size() < kBatch && inline_payload) continue;
      if (!co_await s.send(c, out) || (!inline_payload && !co_await c.send(piece))) co_return false;
      out.clear();
    }
    if (has_trailers) out += h2::serialize_frame(h2::kHeaders, h2::kEndHeaders | h2::kEndStream, stream, *trailers);
    co_return out.empty() || co_await s.send(c, out);
  }

  std::string render_http1() const {
    std::string out = fmt::format("HTTP/1.1 {} X\r\n", spec_.headers.front().second);
    for (const auto& [name, value] : spec_.headers)
      if (name[0] != ':') out += fmt::format("{}: {}\r\n", name, value);
    if (spec_.trailers.empty()) return fmt::format("{}\r\n{}", out, spec_.body);
    out += fmt::format("transfer-encoding: chunked\r\n\r\n");
    if (!spec_.body.empty()) out += fmt::format("{:x}\r\n{}\r\n", spec_.body.size(), spec_.body);
    out += "0\r\n";
    for (const auto& [name, value] : spec_.trailers) out += fmt::format("{}: {}\r\n", name, value);
    return out + "\r\n";
  }

  Spec spec_;
  std::string image_;
};

bool has_field(const std::vector<h2::Field>& fields, std::string_view name) {
  return std::any_of(fields.begin(), fields.end(), [&](const auto& f) { return iequals(f.first, name); });
}

std::shared_ptr<const UpstreamStep> parse(FileContext& cx, const toml::node& value) {
  const auto* t =
      h2_table(cx, value, "h2_response", {"status", "headers", "body", "body_size", "trailers", "auto_length"});
  if (!t) return nullptr;
  Spec spec;
  const auto status = h2_number(cx, *t, "status", 999, 200);
  std::optional<std::vector<h2::Field>> headers = std::vector<h2::Field>{}, trailers = headers;
  if (const auto* h = t->get("headers")) headers = h2_fields(cx, *h);
  if (const auto* h = t->get("trailers")) trailers = h2_fields(cx, *h);
  if (const auto* b = t->get("body")) spec.body = cx.string(*b, "body").value_or("");
  if (t->get("body_size")) {
    const auto size = h2_number(cx, *t, "body_size", 16u << 20, 0);
    if (size && cx.reserve(value, *size)) spec.body.assign(*size, 'x');
  }
  const auto auto_length = h2_bool(cx, *t, "auto_length", true);
  if (!cx.ok() || !status || !headers || !trailers || !auto_length) return nullptr;
  spec.headers.emplace_back(":status", std::to_string(*status));
  spec.headers.insert(spec.headers.end(), headers->begin(), headers->end());
  if (*auto_length && trailers->empty() && !has_field(spec.headers, "content-length"))
    spec.headers.emplace_back("content-length", std::to_string(spec.body.size()));
  spec.trailers = std::move(*trailers);
  return std::make_shared<H2Response>(h2_toml("h2_response", value), std::move(spec));
}

}  // namespace

extern const StepDef h2_response_step = {
    "h2_response",
    280,
    "HTTP/2: send a whole response: { status, headers, body | body_size, trailers, auto_length }",
    "HTTP/2: a whole response on the request's stream: the ACK of the proxy's SETTINGS (unless sent\n"
    "already), HEADERS with `:status` and `headers`, the `body` (or `body_size`\n"
    "generated bytes) as DATA, and `trailers` as a last HEADERS; END_STREAM on the last frame. A\n"
    "`content-length` is added unless the headers have one, there are trailers, or\n"
    "`auto_length = false`. `passthrough` compares with this response.\n",
    "[[upstream.steps]]\n"
    "h2_response = { status = 200, headers = [\"content-type: text/plain\"], body = \"hello\" }\n"
    "[[upstream.steps]]\n"
    "h2_response = { status = 200, body = \"ok\", trailers = [\"grpc-status: 0\"] }\n",
    parse,
    UpstreamProtocol::h2c};

}  // namespace upfault
