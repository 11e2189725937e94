#pragma once
// What the step and the check registries share: their entries in documented order.
#include <algorithm>
#include <vector>

namespace upfault {

/// The generated index's entries sorted by their `order`, then their `key` (deterministic).
template <typename Def>
[[nodiscard]] std::vector<const Def*> in_documented_order(std::vector<const Def*> all) {
  std::sort(all.begin(), all.end(),
            [](const Def* a, const Def* b) { return a->order != b->order ? a->order < b->order : a->key < b->key; });
  return all;
}

}  // namespace upfault
