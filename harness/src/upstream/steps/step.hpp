#pragma once
// The step registry. A step kind is one file in this directory that defines
//
//   extern const StepDef <file name>_step = {.key = …, .order = …, .summary = …, .doc = …,
//                                           .example = …, .parse = parse};
//
// with an UpstreamStep subclass: how the step is written (parse, from its TOML value) and what it
// does on an upstream connection (run). CMake generates the index of these definitions from the
// file names, so adding a step kind is adding one file (and its test). The loader, validation,
// did-you-mean, `upfault list --steps` and the Steps section of scenarios/README.md all come from
// here (a test checks the README against steps_markdown()).
#include <memory>
#include <string_view>
#include <vector>

#include "io/net.hpp"
#include "model/scenario_toml.hpp"
#include "upfault/scenario.hpp"

namespace upfault {

namespace upstream {
class Connection;
}
namespace h2 {
struct FixedResponse;
}

/// What a step tells the connection: go on with the next step, or the script is over here (the
/// connection was closed, handed over to another scenario, or failed; the log says which).
enum class Flow { next, stop };

class UpstreamStep : public StepAction {
 public:
  [[nodiscard]] virtual net::awaitable<Flow> run(upstream::Connection& c) const = 0;
  /// The whole HTTP/2 response the step sends (h2_response), for the multiplexing server; else null.
  [[nodiscard]] virtual const h2::FixedResponse* fixed_h2_response() const { return nullptr; }
};

struct StepDef {
  std::string_view key;      ///< its TOML key
  int order;                 ///< its place in the documentation
  std::string_view summary;  ///< one line, for `upfault list --steps`
  std::string_view doc;      ///< the README paragraph (Markdown)
  std::string_view example;  ///< TOML, one or more [[upstream.steps]] entries
  /// Reads the step from its TOML value; null after reporting the problem to `cx`.
  std::shared_ptr<const UpstreamStep> (*parse)(FileContext& cx, const toml::node& value);
  /// The upstream protocol its example needs (the TLS steps: https).
  UpstreamProtocol example_protocol = UpstreamProtocol::http1;
};

/// Every step kind, in documentation order.
[[nodiscard]] const std::vector<const StepDef*>& step_registry();
/// The kind with this key, or null.
[[nodiscard]] const StepDef* find_step(std::string_view key);

}  // namespace upfault
