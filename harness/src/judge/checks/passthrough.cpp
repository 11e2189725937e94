// passthrough: the upstream's response reaches the client unchanged.
#include <map>

#include "base/util.hpp"
#include "judge/checks/check.hpp"

namespace upfault {
namespace {

// Hop-by-hop and framing fields, which a proxy rewrites legitimately, and the ones proxies
// commonly set themselves (Date, Server): not compared in a passthrough.
bool compared(std::string_view name) {
  for (auto skip : {"connection", "keep-alive", "proxy-connection", "transfer-encoding", "content-length", "te",
                    "trailer", "upgrade", "date", "server"})
    if (iequals(name, skip)) return false;
  return true;
}

std::map<std::string, std::vector<std::string>> end_to_end(const std::vector<Header>& headers) {
  std::map<std::string, std::vector<std::string>> out;
  for (const auto& [n, v] : headers) {
    if (!compared(n)) continue;
    std::string name = n;
    for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    out[name].push_back(v);
  }
  return out;
}

class Passthrough final : public Check {
 public:
  std::string_view key() const override { return "passthrough"; }
  std::string describe() const override { return "passthrough of the upstream's response"; }
  std::string toml() const override { return "passthrough = true"; }
  bool passthrough() const override { return true; }
  std::optional<Miss> mismatch(const Observation& seen) const override {
    const auto& sent = *seen.scenario.upstream_response;
    const auto& got = *seen.client.response;
    if (got.status != sent.status) return Miss{fmt::format("the upstream sent {}, not {}", sent.status, got.status)};
    if (!body_is(seen.client, sent.body))
      return Miss{fmt::format("the body differs from the upstream's {} bytes", sent.body.size())};
    auto want = end_to_end(sent.headers);
    auto have = end_to_end(got.headers);
    for (const auto& [name, values] : want)
      if (have[name] != values)
        return Miss{fmt::format("header {} is {} where the upstream sent \"{}\"", name,
                                have[name].empty() ? "missing" : "\"" + printable(joined(have[name])) + "\"",
                                printable(joined(values)))};
    return std::nullopt;
  }
  std::optional<std::string> validate(const Scenario& s, const Outcome& o) const override {
    if (!s.upstream_response)
      return "passthrough = true needs the upstream to send one complete, valid response, and these steps do not";
    if (const auto* codes = o.statuses();
        codes && std::find(codes->begin(), codes->end(), s.upstream_response->status) == codes->end())
      return fmt::format("passthrough = true contradicts status: the upstream sends {}", s.upstream_response->status);
    return std::nullopt;
  }
};

std::shared_ptr<const Check> parse(FileContext& cx, const toml::node& n) {
  auto b = n.value<bool>();
  if (!b) cx.error(n, "passthrough must be true or false");
  if (!b || !*b) return nullptr;
  return std::make_shared<Passthrough>();
}

}  // namespace

extern const CheckDef passthrough_check = {
    .key = "passthrough",
    .order = 20,
    .example = "`passthrough = true`",
    .toml_example = "passthrough = true",
    .holds =
        "a complete response with the upstream's status, body, and end-to-end header fields (compared by name, values "
        "in "
        "order; hop-by-hop and framing fields, `Date` and `Server` are not compared)",
    .parse = parse,
};

}  // namespace upfault
