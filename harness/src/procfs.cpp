// Reading /proc/PID files without exceptions (procfs.hpp).
#include "procfs.hpp"

#include <fmt/format.h>

#include "bounded_input.hpp"

namespace upfault::procfs {

std::optional<std::string> read(int pid, const char* file) {
  constexpr std::size_t kLimit = 4 << 20;  // above an environment's usual bound (ARG_MAX, 2 MiB)
  auto text = read_bounded(fmt::format("/proc/{}/{}", pid, file), kLimit);
  if (!text) return std::nullopt;
  return std::move(*text);
}

}  // namespace upfault::procfs
