// libFuzzer target: any bytes as a scenario file. The loader must give scenarios or located
// errors — never crash, hang, or accept a scenario that fails its own checks.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "upfault/loader.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto r = upfault::load_scenario_text(text, "fuzz.toml", "fuzz");
  if (r.scenarios.size() > 1) std::abort();
  for (const auto& e : r.errors)
    if (e.where.file != "fuzz.toml" || e.message.empty()) std::abort();
  if (!r.scenarios.empty() && !r.errors.empty()) std::abort();
  return 0;
}
