#pragma once
// Starting a child process the way the proxy under test is started.
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "upfault/problem.hpp"

namespace upfault {

/// Spawns argv in a new process group, stdin from /dev/null, stdout and stderr to `out`, with
/// `env` added to (or replacing in) upfault's environment. The child inherits no descriptor but
/// those three (close_range: none of upfault's sockets leaks into a proxy, whichever thread opened
/// it when), and dies with the thread that started it (PR_SET_PDEATHSIG); the lifeline covers
/// its whole group. Returns the pid, or why the program could not be started.
[[nodiscard]] Result<int> spawn(const std::vector<std::string>& argv, const std::filesystem::path& out,
                                const std::map<std::string, std::string>& env);

}  // namespace upfault
