// Finding what a proxy left running in the background (see background.hpp).
#include "proxy/background.hpp"

#include <fmt/format.h>
#include <algorithm>
#include <charconv>
#include <fstream>
#include <set>

#include "io/listeners.hpp"
#include "proxy/procfs.hpp"
#include "proxy/reaper.hpp"

namespace upfault::background {

namespace fs = std::filesystem;

namespace {

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
  auto name = procfs::read(pid, "comm").value_or("");
  if (name.ends_with('\n')) name.pop_back();
  return name;
}

}  // namespace

std::vector<Stray> find(std::uint16_t port, const fs::path& workdir, int leader) {
  const auto sockets = listening_sockets(port);
  const auto named = pid_files(workdir);
  std::vector<Stray> out;
  for (int pid : reaper::below_self())
    if (pid != leader && (named.count(pid) || (!sockets.empty() && held_by({pid}, sockets))))
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
