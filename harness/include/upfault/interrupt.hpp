#pragma once
/// Stopping a run on SIGINT, SIGTERM or SIGHUP: what is running is wound down (proxies stopped,
/// work dirs removed, reports of what finished written) and upfault exits with 128 + the signal.
/// A second signal, or a wind-down that takes longer than 10 s, kills every proxy group at once
/// and exits.
#include <functional>

namespace upfault::interrupt {

/// Takes the stop signals over for the whole process: blocks them in the calling thread (and so
/// in every thread started after) and waits for them on a thread of its own. Call it first in
/// main, before any thread starts. Without it, the library never sees a signal.
void install();

/// The stop signal received, 0 while there is none.
[[nodiscard]] int received();

/// Blocks until a stop signal arrives; returns it.
int wait();

/// 128 + the signal received (130 for SIGINT, 143 for SIGTERM, 129 for SIGHUP).
[[nodiscard]] int exit_status();

/// Runs `on_stop` (on the signal thread) when a stop signal arrives, or at once when one already
/// has; for as long as the hook lives. `on_stop` must be quick and thread-safe (e.g. io_context::stop).
class Hook {
 public:
  explicit Hook(std::function<void()> on_stop);
  ~Hook();
  Hook(const Hook&) = delete;
  Hook& operator=(const Hook&) = delete;

 private:
  std::function<void()> on_stop_;
};

}  // namespace upfault::interrupt
