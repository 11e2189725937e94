#pragma once
// Whatever upfault starts dies with it. Every proxy's process group and work dir is recorded
// here while it runs; two things act on the record:
// - a guardian process, forked on first use, holding one end of a socket pair: when upfault ends
//   in any way (a crash, SIGKILL, an exit that skipped destructors) its end closes, and the
//   guardian stops every recorded group (SIGTERM, then SIGKILL 2 s later, so a proxy can remove
//   what it keeps outside its work dir, such as Squid's shared memory) and every process that
//   carries a proxy's mark (what left its group: see reaper.hpp), and removes its work dir;
// - kill_all(), for upfault's own emergency exits (a second Ctrl-C).
#include <sys/types.h>

#include <filesystem>

namespace upfault::lifeline {

/// From now on, `pgid`'s group is stopped and `workdir` removed if upfault dies.
void watch(pid_t pgid, const std::filesystem::path& workdir);
/// The group is gone (reaped by us): it is never signalled again, so a later group with the same
/// id is never hit; its work dir is still looked after until forget().
void group_gone(pid_t pgid);
/// The work dir of the group watched as `pgid` was removed: nothing is left to look after.
void forget(pid_t pgid);
/// SIGKILL to every watched group still alive and every marked process, and every work dir removed, now.
void kill_all();

}  // namespace upfault::lifeline
