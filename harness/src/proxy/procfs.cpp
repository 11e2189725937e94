// Reading /proc/PID files without exceptions (procfs.hpp).
#include "proxy/procfs.hpp"

#include <fmt/format.h>

#include <sstream>

#include "base/bounded_input.hpp"

namespace upfault::procfs {

std::optional<std::string> read(int pid, const char* file) {
  constexpr std::size_t kLimit = 4 << 20;  // above an environment's usual bound (ARG_MAX, 2 MiB)
  auto text = read_bounded(fmt::format("/proc/{}/{}", pid, file), kLimit);
  if (!text) return std::nullopt;
  return std::move(*text);
}

std::optional<Stat> stat(int pid) {
  const std::string text = read(pid, "stat").value_or("");
  // "PID (COMM) STATE PPID …": the name may hold spaces and parentheses; the last ')' ends it.
  const auto close = text.rfind(')');
  if (close == std::string::npos) return std::nullopt;
  std::istringstream fields(text.substr(close + 1));
  Stat s;
  s.pid = pid;
  std::string skip;
  fields >> s.state >> s.ppid;                    // fields 3, 4
  for (int i = 5; i <= 8; ++i) fields >> skip;    // pgrp session tty_nr tpgid
  fields >> s.flags;                              // field 9
  for (int i = 10; i <= 21; ++i) fields >> skip;  // minflt … itrealvalue
  fields >> s.started;                            // field 22: starttime
  if (!fields) return std::nullopt;
  return s;
}

}  // namespace upfault::procfs
