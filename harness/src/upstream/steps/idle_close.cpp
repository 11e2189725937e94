// idle_close: a keep-alive server's idle timeout — close the connection if the proxy sends
// nothing more within a time; the race a proxy's connection pool must survive.
#include "upstream/connection.hpp"
#include "upstream/steps/step.hpp"

namespace upfault {
namespace {

class IdleClose final : public UpstreamStep {
 public:
  explicit IdleClose(DurationExpr d) : idle_(std::move(d)) {}
  std::string_view kind() const override { return "idle_close"; }
  std::string toml() const override { return "idle_close = " + toml_quote(idle_.text()); }
  net::awaitable<Flow> run(upstream::Connection& c) const override {
    // Named before the branch: GCC 12 miscompiled `if (co_await c.wait_for_input(now() + d))`
    // (the frame was resumed after it had finished: SIGILL).
    const bool more = co_await c.wait_for_input(net::Clock::now() + c.resolve(idle_));
    if (more) co_return Flow::next;
    co_await c.close_fin();
    co_return Flow::stop;
  }

 private:
  DurationExpr idle_;
};

std::shared_ptr<const UpstreamStep> parse(FileContext& cx, const toml::node& value) {
  auto d = cx.duration(value, "idle_close");
  if (!d) return nullptr;
  return std::make_shared<IdleClose>(*d);
}

}  // namespace

extern const StepDef idle_close_step = {
    .key = "idle_close",
    .order = 85,
    .summary = "close (FIN) unless the proxy sends more within a duration: a keep-alive idle timeout",
    .doc =
        "Close the connection (FIN, as `close = \"fin\"`) unless the proxy sends something within the\n"
        "duration; if it does, go on with the next step. After a response, this is a keep-alive server's\n"
        "idle timeout: a proxy that reuses the connection just as it closes must not fail the request it\n"
        "sent on it (RFC 9112 §9.3.1).\n",
    .example = "[[upstream.steps]]\nidle_close = \"50ms\"\n",
    .parse = parse,
};

}  // namespace upfault
