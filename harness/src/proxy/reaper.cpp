// Stopping a proxy's descendants outside its process group (see reaper.hpp).
#include "proxy/reaper.hpp"

#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fmt/format.h>
#include <algorithm>
#include <charconv>
#include <filesystem>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <thread>
#include <vector>

#include "proxy/procfs.hpp"

namespace upfault::reaper {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace {

using Proc = procfs::Stat;

std::map<pid_t, Proc> snapshot() {
  std::map<pid_t, Proc> out;
  std::error_code ec;
  for (fs::directory_iterator it("/proc", ec), end; !ec && it != end; it.increment(ec)) {
    const auto name = it->path().filename().string();
    pid_t pid = 0;
    auto [p, err] = std::from_chars(name.data(), name.data() + name.size(), pid);
    if (err != std::errc{} || p != name.data() + name.size()) continue;
    if (auto proc = procfs::stat(pid)) out.emplace(pid, *proc);
  }
  return out;
}

// True when process `pid`'s environment holds the entry `entry` (NAME=value) exactly. A zombie's
// environment reads empty.
bool carries(pid_t pid, const std::string& entry) {
  const std::string env = '\0' + procfs::read(pid, "environ").value_or("") + '\0';
  return env.find('\0' + entry + '\0') != std::string::npos;
}

// The processes below `self` that are `root` or descend from one (or from one seen before, in
// `known`: a zombie's mark cannot be read, and an orphan's line to its root is gone).
template <class Root>
std::vector<Proc> lineage(const std::map<pid_t, Proc>& procs, pid_t self, const Root& root,
                          const std::map<pid_t, unsigned long long>& known) {
  std::map<pid_t, bool> marked;
  auto is_marked = [&](const Proc& p) {
    auto [it, fresh] = marked.try_emplace(p.pid, false);
    if (fresh) {
      auto k = known.find(p.pid);
      it->second = (k != known.end() && k->second == p.started) || root(p);
    }
    return it->second;
  };
  std::vector<Proc> out;
  std::vector<const Proc*> chain;
  for (const auto& [pid, proc] : procs) {
    // Up to upfault first: the environment of a process that is not below it is never read.
    chain.clear();
    for (const Proc* at = &proc; at && at->pid != self && chain.size() < 256;) {
      chain.push_back(at);
      auto up = procs.find(at->ppid);
      at = up == procs.end() ? nullptr : &up->second;
      if (at && at->pid == self) {
        if (std::any_of(chain.begin(), chain.end(), [&](const Proc* p) { return is_marked(*p); })) out.push_back(proc);
        break;
      }
    }
  }
  return out;
}

}  // namespace

std::string mark_name() { return fmt::format("UPFAULT_LINEAGE_{}", ::getpid()); }

void become_subreaper() { ::prctl(PR_SET_CHILD_SUBREAPER, 1); }

namespace {

// Stops every process below upfault that is `root` or descends from one (see stop_marked).
template <class Root>
void stop_lineage(const Root& root, std::chrono::milliseconds grace) {
  const pid_t self = ::getpid();
  const auto kill_at = Clock::now() + grace, give_up = kill_at + std::chrono::seconds(2);
  std::map<pid_t, unsigned long long> known;  // every one found, by pid and start time
  std::set<pid_t> termed;
  while (true) {
    const auto found = lineage(snapshot(), self, root, known);
    if (found.empty() || Clock::now() > give_up) return;
    const bool hard = Clock::now() >= kill_at;
    for (const auto& p : found) {
      known[p.pid] = p.started;
      if (p.state == 'Z' || p.state == 'X') {
        int status = 0;
        // Only a zombie we are the parent of, by its pid: its parent in the line reaps the others.
        if (p.ppid == self && ::waitpid(p.pid, &status, WNOHANG) == p.pid) known.erase(p.pid);
      } else if (hard) {
        ::kill(p.pid, SIGKILL);
      } else if (termed.insert(p.pid).second) {
        ::kill(p.pid, SIGTERM);
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

}  // namespace

void stop_marked(const std::string& value, std::chrono::milliseconds grace) {
  const std::string entry = mark_name() + "=" + value;
  stop_lineage([&](const Proc& p) { return carries(p.pid, entry); }, grace);
}

bool gone_or_exiting(int pid) {
  constexpr unsigned long kExiting = 0x4;  // PF_EXITING
  const auto p = procfs::stat(pid);
  return !p || p->state == 'Z' || p->state == 'X' || (p->flags & kExiting) != 0;
}

std::vector<int> other_proxies(const std::string& value) {
  const std::string name = mark_name() + "=", ours = name + value;
  const auto root = [&](const Proc& q) {
    std::istringstream env(procfs::read(q.pid, "environ").value_or(""));
    for (std::string entry; std::getline(env, entry, '\0');)
      if (entry.starts_with(name) && entry != ours) return true;
    return false;
  };
  std::vector<int> out;
  for (const auto& p : lineage(snapshot(), ::getpid(), root, {})) out.push_back(p.pid);
  return out;
}

std::vector<int> below_self() {
  const auto procs = snapshot();
  const pid_t self = ::getpid();
  std::vector<int> out;
  for (const auto& [pid, proc] : procs) {
    const Proc* at = &proc;
    for (std::size_t depth = 0; at && at->pid != self && depth < 256; ++depth) {
      auto up = procs.find(at->ppid);
      at = up == procs.end() ? nullptr : &up->second;
    }
    if (at && pid != self) out.push_back(pid);
  }
  return out;
}

void stop_tree(int pid, std::chrono::milliseconds grace) {
  const auto root = procfs::stat(pid);
  if (!root) return;  // gone already
  // By pid and start time, so that a process that took a reaped one's pid is never hit; only
  // below upfault (lineage() never looks above it).
  stop_lineage([&](const Proc& p) { return p.pid == root->pid && p.started == root->started; }, grace);
}

}  // namespace upfault::reaper
