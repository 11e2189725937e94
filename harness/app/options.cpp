#include "options.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>
#include <cerrno>
#include <charconv>
#include <cstdlib>
#include <cstring>
#include <filesystem>

#include "upfault/tls.hpp"

namespace upfault::cli {

OutputFile::~OutputFile() {
  if (f_) std::fclose(f_);
  if (!temp_.empty()) ::unlink(temp_.c_str());  // never committed: the old file stays as it was
}

Result<void> OutputFile::open(const std::string& path) {
  path_ = path;
  if (path.empty()) return {};
  struct stat st {};
  const bool exists = ::stat(path.c_str(), &st) == 0;
  if (exists && S_ISDIR(st.st_mode)) return problem(fmt::format("cannot write {}: it is a directory", path));
  int fd = -1;
  if (exists && !S_ISREG(st.st_mode)) {
    // A device or a FIFO is written as it is; O_NONBLOCK so a FIFO without a reader fails at once.
    fd = ::open(path.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd >= 0)
      ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) & ~O_NONBLOCK);
    else if (errno == ENXIO)
      errno = EPIPE;  // "no reader" reads better as a broken pipe
  } else {
    // A file is written beside its place and renamed over it once complete: a run that fails or
    // is stopped leaves the old report as it was, never an empty or half-written one.
    temp_ = path + ".upfault-XXXXXX";
    fd = ::mkstemp(temp_.data());
    if (fd < 0)
      temp_.clear();
    else
      ::fchmod(fd, exists ? st.st_mode & 07777 : 0644);
  }
  if (fd >= 0) f_ = ::fdopen(fd, "w");
  if (!f_) return problem(fmt::format("cannot write {}: {}", path, std::strerror(errno)));
  return {};
}

Result<void> OutputFile::write(std::string_view text) {
  // Not opened: fine for no path (nothing wanted); for a path, open() already said why not.
  if (!f_) return path_.empty() ? Result<void>{} : problem(fmt::format("cannot write {}: it is not open", path_));
  std::FILE* f = std::exchange(f_, nullptr);
  const bool ok = std::fwrite(text.data(), 1, text.size(), f) == text.size() && std::fflush(f) == 0;
  const int saved = errno;
  const bool closed = std::fclose(f) == 0;
  bool placed = true;
  if (ok && closed && !temp_.empty()) {
    placed = ::rename(temp_.c_str(), path_.c_str()) == 0;
    if (placed) temp_.clear();
  }
  if (!ok || !closed || !placed)
    return problem(fmt::format("cannot write {}: {}", path_, std::strerror(ok ? errno : saved)));
  return {};
}

Result<Millis> parse_fixed(const std::string& text) {
  auto d = DurationExpr::parse(text);
  if (!d) return d.error();
  if (d->relative()) return problem(fmt::format("\"{}\" must be a fixed duration such as \"1s\"", text));
  return d->resolve({});
}

void add_port_options(CLI::App* cmd, EndpointPorts& ports) {
  cmd->add_option("--upstream-port", ports.scripted, "Port of the fake upstream (default: any)");
  bool first = true;
  for (const auto& f : endpoint_port_fields()) {
    auto help = fmt::format("{}, for {}/", f.what, f.prefix);
    if (first)
      help +=
          " (default: with --upstream-port P, P+1; the other endpoint ports follow in this order: P+2, …; else any)";
    cmd->add_option(fmt::format("--{}-port", f.name), ports.*f.port, help);
    first = false;
  }
}

void add_state_options(CLI::App* cmd, bool& no_isolation, bool& no_keepalive_probe) {
  cmd->add_flag("--no-isolation", no_isolation,
                "Keep the pass's verdicts: do not rerun alone (on a fresh --proxy instance) the scenarios whose "
                "verdict the proxy's state may have decided (in flight when it died, refused on a connection serving "
                "another scenario, or their fault never reached the upstream)");
  cmd->add_flag("--no-keepalive-probe", no_keepalive_probe,
                "Ask Connection: close on each scenario's last request, and send no follow-up request on a client "
                "connection the proxy keeps open (by default a known-good request follows, and any other answer to "
                "it is a desync failure)");
}

void add_tls_dir_option(CLI::App* cmd, std::string& dir) {
  cmd->add_option("--tls-dir", dir,
                  "Directory keeping upfault's CA (ca.pem, ca.key; made there when missing): the TLS ports' "
                  "certificates come from it, so a proxy configured to trust DIR/ca.pem keeps trusting it "
                  "(default for serve, routes and run --proxy-url: $XDG_STATE_HOME/upfault/ca or "
                  "~/.local/state/upfault/ca)");
}

std::string default_tls_dir() {
  if (const char* state = std::getenv("XDG_STATE_HOME"); state && *state)
    return (std::filesystem::path(state) / "upfault" / "ca").string();
  if (const char* home = std::getenv("HOME"); home && *home)
    return (std::filesystem::path(home) / ".local" / "state" / "upfault" / "ca").string();
  return "";
}

Result<std::string> apply_tls_dir(const std::string& dir, bool or_default) {
  const std::string use = dir.empty() && or_default ? default_tls_dir() : dir;
  if (use.empty()) return std::string();
  if (auto r = tls::use_directory(use); !r) return r.error();
  // Absolute: a proxy resolves a relative path against its own prefix or working directory.
  std::error_code ec;
  const auto dir_path = std::filesystem::absolute(use, ec);
  return ((ec ? std::filesystem::path(use) : dir_path) / "ca.pem").lexically_normal().string();
}

std::string describe_ports(const EndpointPorts& p, const std::string& host) {
  std::string out = "upstream " + authority(host, p.scripted);
  for (const auto& f : endpoint_port_fields())
    out += fmt::format("{} {}/ :{}", &f == &endpoint_port_fields().front() ? ";" : ",", f.prefix, p.*f.port);
  return out;
}

}  // namespace upfault::cli
