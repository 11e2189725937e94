// The step registry (see steps/step.hpp): the generated index, sorted for documentation.
#include <fmt/format.h>

#include <algorithm>

#include "base/registry.hpp"

#include "upstream/steps/step.hpp"

namespace upfault {

std::vector<const StepDef*> all_step_defs();  // generated from the files in steps/

const std::vector<const StepDef*>& step_registry() {
  static const auto defs = in_documented_order(all_step_defs());
  return defs;
}

const StepDef* find_step(std::string_view key) {
  for (const auto* d : step_registry())
    if (d->key == key) return d;
  return nullptr;
}

const std::vector<StepKind>& step_kinds() {
  static const auto kinds = [] {
    std::vector<StepKind> out;
    for (const auto* d : step_registry()) out.push_back({d->key, d->summary, d->doc, d->example, d->example_protocol});
    return out;
  }();
  return kinds;
}

std::string steps_markdown() {
  std::string out;
  for (const auto& k : step_kinds()) {
    if (!out.empty()) out += '\n';
    out += fmt::format("### `{}`\n{}```toml\n{}```\n", k.name, k.doc, k.example);
  }
  return out;
}

}  // namespace upfault
