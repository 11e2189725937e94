// h2_window_updates: whether the upstream gives the proxy's windows back on its own.
#include "model/scenario_toml.hpp"
#include "upstream/steps/h2_step.hpp"

namespace upfault {
namespace {

// The session reads it when it routes the request (upstream/h2_session.cpp): running it does nothing.
class H2WindowUpdates final : public H2Step {
 public:
  H2WindowUpdates() : H2Step("h2_window_updates", "h2_window_updates = false") {}

 protected:
  std::optional<std::string> frames(h2::Session&) const override { return std::string(); }
  net::awaitable<bool> act(upstream::Connection& c, h2::Session& s) const override {
    co_return !c.over() && s.request_stream() != 0;
  }
};

std::shared_ptr<const UpstreamStep> parse(FileContext& cx, const toml::node& value) {
  if (value.value<bool>() == false) return std::make_shared<H2WindowUpdates>();
  cx.error(value, "h2_window_updates takes false (the upstream gives the windows back on its own by default)");
  return nullptr;
}

}  // namespace

extern const StepDef h2_window_updates_step = {
    .key = "h2_window_updates",
    .order = 275,
    .summary = "HTTP/2: false: send no WINDOW_UPDATE of the upstream's own for the proxy's DATA",
    .doc =
        "HTTP/2: by default the upstream gives the proxy's flow-control windows back (WINDOW_UPDATE for\n"
        "the connection and the request's stream) each time half a window of DATA has arrived, so an\n"
        "uploaded body never stalls. `h2_window_updates = false`, anywhere in the script, turns that\n"
        "off for the whole connection: the proxy's windows close once it has sent 65,535 bytes, unless\n"
        "an `h2_window_update` step opens them.\n",
    .example =
        "[[upstream.steps]]\n"
        "h2_window_updates = false\n",
    .parse = parse,
    .example_protocol = UpstreamProtocol::h2c,
};

}  // namespace upfault
