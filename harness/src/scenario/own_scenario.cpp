// upfault's own scenarios (loader.hpp): the probes it sends, made from TOML like any other.
#include <fmt/format.h>

#include "upfault/loader.hpp"

namespace upfault {

Result<Scenario> own_scenario(std::string_view name, std::string_view summary, UpstreamProtocol protocol,
                              std::string_view steps) {
  auto loaded =
      load_scenario_text(fmt::format("name = \"{}\"\nsummary = \"{}\"\nrationale = \"setup\"\nlevel = \"must\"\n"
                                     "[upstream]\nprotocol = \"{}\"\n{}[expect]\nstatus = 200\n",
                                     name, summary, to_string(protocol), steps),
                         std::string(name));
  if (loaded.scenarios.empty())
    return problem(fmt::format("upfault's {} ({}) did not load: {}", summary, name, loaded.errors.front().str()));
  return std::move(loaded.scenarios.front());
}

}  // namespace upfault
