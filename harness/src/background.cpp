// Finding what a proxy left running in the background (see background.hpp).
#include "background.hpp"

#include <fmt/format.h>
#include <algorithm>
#include <charconv>
#include <fstream>
#include <set>
#include <sstream>

#include "reaper.hpp"

namespace upfault::background {

namespace fs = std::filesystem;

namespace {

// The inodes of the listening TCP sockets on `port`, from /proc/net/tcp and tcp6: each line is
// "sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode …", the address as
// hex "ADDR:PORT", state 0A for LISTEN.
std::set<std::string> listening_inodes(std::uint16_t port) {
  std::set<std::string> out;
  const auto suffix = fmt::format(":{:04X}", port);
  for (const char* table : {"/proc/net/tcp", "/proc/net/tcp6"}) {
    std::ifstream in(table);
    std::string line;
    std::getline(in, line);  // the column names
    while (std::getline(in, line)) {
      std::istringstream fields(line);
      std::string sl, local, remote, state, queues, timer, retransmits, uid, timeout, inode;
      fields >> sl >> local >> remote >> state >> queues >> timer >> retransmits >> uid >> timeout >> inode;
      if (fields && state == "0A" && local.ends_with(suffix) && inode != "0") out.insert(inode);
    }
  }
  return out;
}

// True when process `pid` has one of `inodes` open (its fd links read "socket:[INODE]").
bool holds(int pid, const std::set<std::string>& inodes) {
  std::error_code ec;
  for (fs::directory_iterator it(fmt::format("/proc/{}/fd", pid), ec), end; !ec && it != end; it.increment(ec)) {
    std::error_code link_ec;
    const auto target = fs::read_symlink(it->path(), link_ec).string();
    if (!link_ec && target.starts_with("socket:[") && target.ends_with("]") &&
        inodes.count(target.substr(8, target.size() - 9)))
      return true;
  }
  return false;
}

// The pids the `*.pid` files directly in `workdir` name (a number on the first line).
std::set<int> pid_files(const fs::path& workdir) {
  std::set<int> out;
  std::error_code ec;
  for (fs::directory_iterator it(workdir, ec), end; !ec && it != end; it.increment(ec)) {
    if (it->path().extension() != ".pid") continue;
    std::ifstream in(it->path());
    std::string text;
    std::getline(in, text);
    int pid = 0;
    auto [p, err] = std::from_chars(text.data(), text.data() + text.size(), pid);
    if (err == std::errc{} && pid > 0) out.insert(pid);
  }
  return out;
}

std::string program_of(int pid) {
  std::ifstream in(fmt::format("/proc/{}/comm", pid));
  std::string name;
  std::getline(in, name);
  return name;
}

}  // namespace

std::vector<Stray> find(std::uint16_t port, const fs::path& workdir, int leader) {
  const auto inodes = listening_inodes(port);
  const auto named = pid_files(workdir);
  std::vector<Stray> out;
  for (int pid : reaper::below_self())
    if (pid != leader && (named.count(pid) || (!inodes.empty() && holds(pid, inodes))))
      out.push_back({pid, program_of(pid)});
  return out;
}

std::string advice(std::string_view program) {
  if (program == "nginx") return "your config runs nginx in the background: add `daemon off;`";
  if (program == "haproxy")
    return "your config runs HAProxy in the background: remove `daemon` from its global section (or start it with -db)";
  return fmt::format("your config runs {} in the background: make it run in the foreground",
                     program.empty() ? "the proxy" : program);
}

}  // namespace upfault::background
