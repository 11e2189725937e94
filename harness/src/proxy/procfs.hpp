#pragma once
// Reading /proc/PID files of processes that may end at any moment: a process reaped between the
// open and the read of its file makes the read fail (ESRCH), which a std::ifstream read through an
// istreambuf_iterator throws from (it aborted `upfault matrix` in CI). Here such a file is
// nothing, never an exception.
#include <optional>
#include <string>

namespace upfault::procfs {

/// The whole of /proc/`pid`/`file` ("stat", "environ", "comm"), at most 4 MiB; nothing when it
/// cannot be opened or read (the process is gone or another user's, the read failed).
[[nodiscard]] std::optional<std::string> read(int pid, const char* file);

/// What /proc/PID/stat says of a process that finding and stopping it needs.
struct Stat {
  int pid = 0;
  int ppid = 0;
  char state = '?';                ///< R, S, D, Z (zombie), X (dead), …
  unsigned long flags = 0;         ///< the kernel's PF_* flags (PF_EXITING: 0x4)
  unsigned long long started = 0;  ///< clock ticks from boot to its start: with the pid, names one process
};

/// Process `pid`'s stat; nothing when it is gone (or the file cannot be read or parsed).
[[nodiscard]] std::optional<Stat> stat(int pid);

}  // namespace upfault::procfs
