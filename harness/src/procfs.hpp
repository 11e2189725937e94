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

}  // namespace upfault::procfs
