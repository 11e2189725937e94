#include "upfault/interrupt.hpp"

#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <thread>
#include <vector>

#include "proxy/lifeline.hpp"

namespace upfault::interrupt {

namespace {

constexpr int kGraceSeconds = 10;

std::atomic<int> g_signal{0};
std::mutex g_m;
std::condition_variable g_cv;
std::vector<const std::function<void()>*> g_hooks;

sigset_t stop_signals() {
  sigset_t s;
  sigemptyset(&s);
  for (int sig : {SIGINT, SIGTERM, SIGHUP}) sigaddset(&s, sig);
  return s;
}

void signal_thread() {
  const sigset_t set = stop_signals();
  int sig = 0;
  while (sigwait(&set, &sig) != 0) {}
  {
    // Hooks run under the lock, so none is destroyed while it runs, and none registered after
    // this misses the signal (its constructor sees it).
    std::lock_guard lock(g_m);
    g_signal = sig;
    for (auto* f : g_hooks) (*f)();
  }
  g_cv.notify_all();
  std::fprintf(stderr, "\nupfault: %s received: stopping (again to stop at once)\n", strsignal(sig));
  // The backstop: a second signal, or a wind-down that hangs, ends everything now.
  const timespec grace{kGraceSeconds, 0};
  siginfo_t info;
  const int again = sigtimedwait(&set, &info, &grace);
  std::fprintf(stderr, "upfault: %s: killing every proxy and exiting\n",
               again > 0 ? "second signal" : "wind-down took too long");
  lifeline::kill_all();
  ::_exit(128 + sig);
}

}  // namespace

void install() {
  static std::once_flag once;
  std::call_once(once, [] {
    const sigset_t set = stop_signals();
    pthread_sigmask(SIG_BLOCK, &set, nullptr);
    std::thread(signal_thread).detach();
  });
}

int received() { return g_signal.load(); }

int wait() {
  std::unique_lock lock(g_m);
  g_cv.wait(lock, [] { return g_signal.load() != 0; });
  return g_signal.load();
}

int exit_status() { return g_signal.load() ? 128 + g_signal.load() : 0; }

Hook::Hook(std::function<void()> on_stop) : on_stop_(std::move(on_stop)) {
  std::lock_guard lock(g_m);
  if (g_signal.load())
    on_stop_();
  else
    g_hooks.push_back(&on_stop_);
}

Hook::~Hook() {
  std::lock_guard lock(g_m);
  std::erase(g_hooks, &on_stop_);
}

}  // namespace upfault::interrupt
