#pragma once
// What a proxy starts outside its process group. Squid's pinger calls setsid: killing the
// proxy's group misses it, and it outlives upfault. upfault is the subreaper of what it starts
// (PR_SET_CHILD_SUBREAPER, set before the first proxy starts): such orphans are re-parented to
// upfault, never to init, while upfault lives. Every proxy carries a mark in its environment,
// which whatever it starts inherits (setsid or not): stop_marked() finds a proxy's descendants by
// it (only below upfault in the process tree), and the lifeline's guardian finds them by it when
// upfault itself was killed (when the tree that led to upfault is gone).
#include <chrono>
#include <string>
#include <vector>

namespace upfault::reaper {

/// The mark's variable, UPFAULT_LINEAGE_<upfault's pid>: its value names one proxy (its work dir).
[[nodiscard]] std::string mark_name();

/// Makes upfault the subreaper of its descendants (idempotent).
void become_subreaper();

/// Stops every process below upfault in the process tree whose environment holds
/// mark_name()=`value`, and everything below those: SIGTERM, SIGKILL to what is left after
/// `grace`; those that were re-parented to upfault are reaped (waitpid on their pid alone, so no
/// other child's exit status is taken). Returns once none is left, or `grace` + 2 s after it began.
void stop_marked(const std::string& value, std::chrono::milliseconds grace = std::chrono::milliseconds{1000});

/// True when process `pid` is gone, a zombie, or exiting (it was killed and its memory is being
/// released: its sockets may still accept for a while, as a dying ASan build's do).
[[nodiscard]] bool gone_or_exiting(int pid);

/// The pids of the processes below upfault that belong to another proxy than the one marked
/// `value`: those whose environment holds mark_name() with another value, and everything below them.
[[nodiscard]] std::vector<int> other_proxies(const std::string& value);

/// The pids of every process below upfault in the process tree (its descendants, and the orphans
/// re-parented to it), upfault itself excepted.
[[nodiscard]] std::vector<int> below_self();

/// Stops process `pid` and every process below it, as stop_marked() does, if `pid` is below
/// upfault in the process tree; anything else is never signalled. Returns once none is left, or
/// `grace` + 2 s after it began.
void stop_tree(int pid, std::chrono::milliseconds grace = std::chrono::milliseconds{1000});

}  // namespace upfault::reaper
