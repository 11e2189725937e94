// dribble: send bytes slowly, in pieces paced from a fixed start.
#include "upstream/connection.hpp"
#include "upstream/steps/step.hpp"

namespace upfault {
namespace {

class Dribble final : public UpstreamStep {
 public:
  Dribble(std::string bytes, std::size_t chunk, DurationExpr every)
      : bytes_(std::move(bytes)), chunk_(chunk), every_(std::move(every)) {}
  std::string_view kind() const override { return "dribble"; }
  std::string toml() const override {
    return fmt::format("dribble = {{ data = {}, chunk = {}, every = {} }}", toml_quote(bytes_), chunk_,
                       toml_quote(every_.text()));
  }
  const std::string* sends() const override { return &bytes_; }

  // Pieces leave at t0 + k·every, so pacing does not drift with the time each write takes.
  net::awaitable<Flow> run(upstream::Connection& c) const override {
    const auto t0 = net::Clock::now();
    const auto every = c.resolve(every_);
    std::size_t k = 0;
    for (std::size_t at = 0; at < bytes_.size(); at += chunk_, ++k) {
      co_await c.wait_until(t0 + every * static_cast<long>(k));
      const bool sent = co_await c.send(std::string_view(bytes_).substr(at, chunk_));
      if (!sent) co_return Flow::stop;
    }
    co_return Flow::next;
  }

 private:
  std::string bytes_;
  std::size_t chunk_;
  DurationExpr every_;
};

std::shared_ptr<const UpstreamStep> parse(FileContext& cx, const toml::node& n) {
  auto* t = n.as_table();
  if (!t) {
    cx.error(n, "dribble must be a table: { data = \"...\", chunk = 1, every = \"100ms\" }");
    return nullptr;
  }
  cx.check_keys(*t, {"data", "hex", "response", "chunk", "every"}, "dribble");
  int sources = 0;
  std::optional<std::string> bytes;
  if (auto* v = t->get("data")) ++sources, bytes = load_bytes(cx, *v, "data");
  if (auto* v = t->get("hex")) ++sources, bytes = load_bytes(cx, *v, "hex");
  if (auto* v = t->get("response")) ++sources, bytes = load_response(cx, *v);
  if (sources != 1) {
    cx.error(n, "dribble needs exactly one of data, hex or response");
    return nullptr;
  }
  if (!bytes) return nullptr;
  std::size_t chunk = 1;
  if (auto* c = t->get("chunk")) {
    auto size = integer(c);
    if (!size || *size <= 0) {
      cx.error(*c, "chunk must be a positive integer (bytes per piece)");
      return nullptr;
    }
    chunk = static_cast<std::size_t>(*size);
  }
  auto* every = t->get("every");
  if (!every) {
    cx.error(n, "dribble needs every = DURATION (the pause between pieces)");
    return nullptr;
  }
  auto e = cx.duration(*every, "every");
  if (!e) return nullptr;
  return std::make_shared<Dribble>(std::move(*bytes), chunk, *e);
}

}  // namespace

extern const StepDef dribble_step = {
    .key = "dribble",
    .order = 50,
    .summary = "send bytes slowly: { data | hex | response, chunk = N, every = DURATION }, paced from a fixed start",
    .doc =
        "Send bytes slowly: `chunk` bytes (default 1) every `every`, paced from a fixed start (piece k\n"
        "leaves at t0 + k·every, so the pacing does not drift), with TCP_NODELAY so each piece leaves at\n"
        "once. The bytes come from `data` (text), `hex`, or `response` (as above). A slow first byte is a\n"
        "`delay` before it.\n",
    .example =
        "[[upstream.steps]]\n"
        "dribble = { data = \"HTTP/1.1 200 OK\\r\\nContent-Length: 2\\r\\n\\r\\nok\", chunk = 4, every = \"0.4 * "
        "read_timeout\" }\n",
    .parse = parse,
};

}  // namespace upfault
