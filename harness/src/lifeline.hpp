#pragma once
// Whatever upfault starts dies with it. Every proxy's process group and work dir is recorded
// here while it runs; two things act on the record:
// - a guardian process, forked on first use, holding one end of a socket pair: when upfault ends
//   in any way (a crash, SIGKILL, an exit that skipped destructors) its end closes, and the
//   guardian kills every recorded group and removes its work dir;
// - kill_all(), for upfault's own emergency exits (a second Ctrl-C).
#include <sys/types.h>

#include <filesystem>

namespace upfault::lifeline {

/// From now on, `pgid`'s group is killed and `workdir` removed if upfault dies.
void watch(pid_t pgid, const std::filesystem::path& workdir);
/// The group is gone (reaped by us): forget it, so a later group with the same id is never hit.
void release(pid_t pgid);
/// SIGKILL to every watched group, and their work dirs removed, now.
void kill_all();

}  // namespace upfault::lifeline
