// read: take the request head, the whole request, N bytes, or nothing from the proxy.
#include "upstream/connection.hpp"
#include "upstream/steps/step.hpp"

namespace upfault {
namespace {

class Read final : public UpstreamStep {
 public:
  enum class What { head, request, bytes, none };
  Read(What what, std::size_t bytes) : what_(what), bytes_(bytes) {}

  std::string_view kind() const override { return "read"; }
  std::string toml() const override {
    switch (what_) {
      case What::head: return "read = \"head\"";
      case What::request: return "read = \"request\"";
      case What::none: return "read = \"none\"";
      case What::bytes: break;
    }
    return fmt::format("read = {{ bytes = {} }}", bytes_);
  }
  bool reads_request() const override { return what_ == What::request; }

  net::awaitable<Flow> run(upstream::Connection& c) const override {
    bool ok = true;
    switch (what_) {
      case What::none: break;
      case What::head: ok = co_await c.read_head(); break;
      case What::bytes: ok = co_await c.read_bytes(bytes_); break;
      case What::request:
        ok = co_await c.read_head();
        if (ok) ok = co_await c.read_body();
        break;
    }
    co_return ok ? Flow::next : Flow::stop;
  }

 private:
  What what_;
  std::size_t bytes_;
};

constexpr std::string_view kUsage = "read must be \"head\", \"request\", \"none\" or { bytes = N }";

std::shared_ptr<const UpstreamStep> parse(FileContext& cx, const toml::node& value) {
  if (auto s = value.value<std::string>()) {
    if (*s == "head") return std::make_shared<Read>(Read::What::head, 0);
    if (*s == "request") return std::make_shared<Read>(Read::What::request, 0);
    if (*s == "none") return std::make_shared<Read>(Read::What::none, 0);
    cx.error(value, fmt::format("{}, not \"{}\"", kUsage, *s));
    return nullptr;
  }
  auto* t = value.as_table();
  if (!t || !t->contains("bytes")) {
    cx.error(value, std::string(kUsage));
    return nullptr;
  }
  cx.check_keys(*t, {"bytes"}, "read");
  auto b = integer(t->get("bytes"));
  if (!b || *b <= 0 || *b > (64 << 20)) {
    cx.error(*t->get("bytes"), "read.bytes must be an integer from 1 to 67108864");
    return nullptr;
  }
  return std::make_shared<Read>(Read::What::bytes, static_cast<std::size_t>(*b));
}

}  // namespace

extern const StepDef read_step = {
    .key = "read",
    .order = 10,
    .summary = "read from the proxy: \"head\" (request head), \"request\" (head and body), \"none\", or { bytes = N }",
    .doc =
        "Read from the proxy. `\"head\"`: the request head (the first one was already read to route the\n"
        "connection; the first `read = \"head\"` claims it, later ones wait for the next request on the\n"
        "same connection — keep-alive). `\"request\"`: the head and its body (Content-Length or chunked).\n"
        "`{ bytes = N }`: N more bytes. `\"none\"`: nothing; act at once.\n",
    .example = "[[upstream.steps]]\nread = \"request\"\n",
    .parse = parse,
};

}  // namespace upfault
