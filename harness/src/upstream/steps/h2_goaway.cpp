// h2_goaway: GOAWAY with a last-stream-id, an error code and debug data.
#include "model/scenario_toml.hpp"
#include "upstream/steps/h2_step.hpp"

namespace upfault {
namespace {

class H2Goaway final : public H2Step {
 public:
  H2Goaway(std::string toml, StreamRef last, std::int64_t offset, std::uint32_t code, std::string debug)
      : H2Step("h2_goaway", std::move(toml)), last_(last), offset_(offset), code_(code), debug_(std::move(debug)) {}

 protected:
  std::optional<std::string> frames(h2::Session& s) const override {
    const auto base = static_cast<std::int64_t>(last_.resolve(s));
    const auto last = static_cast<std::uint32_t>(std::clamp<std::int64_t>(base + offset_, 0, 0x7fffffff));
    std::string payload;
    h2::put_u32(payload, last);
    h2::put_u32(payload, code_);
    payload += debug_;
    return h2::serialize_frame(h2::kGoaway, 0, 0, payload);
  }

 private:
  StreamRef last_;
  std::int64_t offset_;
  std::uint32_t code_;
  std::string debug_;
};

// last_stream: "request", "below_request" (the request's stream - 2, or 0), "above_request" (+ 2), or a number.
std::optional<std::pair<StreamRef, std::int64_t>> last_stream(FileContext& cx, const toml::table& t) {
  const auto* n = t.get("last_stream");
  if (!n) return std::pair{StreamRef{}, std::int64_t{0}};
  const auto s = n->value<std::string>();
  if (s == "request") return std::pair{StreamRef{}, std::int64_t{0}};
  if (s == "below_request") return std::pair{StreamRef{}, std::int64_t{-2}};
  if (s == "above_request") return std::pair{StreamRef{}, std::int64_t{2}};
  if (auto i = integer(*n); i && *i >= 0 && *i <= 0x7fffffff)
    return std::pair{StreamRef{false, static_cast<std::uint32_t>(*i)}, std::int64_t{0}};
  cx.error(*n, "last_stream must be \"request\", \"below_request\", \"above_request\" or a number");
  return std::nullopt;
}

std::shared_ptr<const UpstreamStep> parse(FileContext& cx, const toml::node& value) {
  const auto* t = h2_table(cx, value, "h2_goaway", {"last_stream", "error", "debug"});
  if (!t) return nullptr;
  const auto last = last_stream(cx, *t);
  const auto code = h2_error_code(cx, *t, "error", 0);
  std::optional<std::string> debug = std::string();
  if (const auto* d = t->get("debug")) debug = cx.string(*d, "debug");
  if (!last || !code || !debug) return nullptr;
  return std::make_shared<H2Goaway>(h2_toml("h2_goaway", value), last->first, last->second, *code, std::move(*debug));
}

}  // namespace

extern const StepDef h2_goaway_step = {
    .key = "h2_goaway",
    .order = 250,
    .summary = "HTTP/2: send GOAWAY: { last_stream, error, debug }",
    .doc =
        "HTTP/2: GOAWAY. `last_stream` is `\"request\"` (the served stream, the default),\n"
        "`\"below_request\"` (2 less, or 0: the request was not processed and may be retried),\n"
        "`\"above_request\"` (2 more) or a number; `error` a code's name or number (default `no_error`);\n"
        "`debug` text for the debug data. The connection stays open: a `close` step ends it.\n",
    .example =
        "[[upstream.steps]]\n"
        "h2_goaway = { last_stream = \"below_request\", error = \"no_error\" }\n",
    .parse = parse,
    .example_protocol = UpstreamProtocol::h2c,
};

}  // namespace upfault
