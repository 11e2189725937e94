#include "options.hpp"

#include <boost/asio/ip/address.hpp>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <fmt/format.h>

namespace upfault::cli {

std::optional<HostPort> parse_host_port(std::string text, std::string& error, bool allow_any_port) {
  if (text.rfind("http://", 0) == 0) text = text.substr(7);
  HostPort hp;
  if (auto slash = text.find('/'); slash != std::string::npos) {
    hp.path = text.substr(slash);
    text = text.substr(0, slash);
  }
  std::string port;
  if (!text.empty() && text.front() == '[') {
    auto close = text.find(']');
    if (close == std::string::npos || close + 1 >= text.size() || text[close + 1] != ':') {
      error = fmt::format("\"{}\" is not [IPv6]:PORT", text);
      return std::nullopt;
    }
    hp.host = text.substr(1, close - 1);
    port = text.substr(close + 2);
  } else {
    auto colon = text.rfind(':');
    if (colon == std::string::npos) {
      error = fmt::format("\"{}\" has no port; write HOST:PORT", text);
      return std::nullopt;
    }
    hp.host = text.substr(0, colon);
    port = text.substr(colon + 1);
  }
  if (hp.host == "localhost") hp.host = "127.0.0.1";
  unsigned value = 0;
  auto [p, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (ec != std::errc{} || p != port.data() + port.size() || (value == 0 && !allow_any_port) || value > 65535) {
    error = fmt::format("\"{}\" is not a port number", port);
    return std::nullopt;
  }
  hp.port = static_cast<std::uint16_t>(value);
  return hp;
}

bool is_loopback(const std::string& host) {
  if (host == "localhost") return true;
  boost::system::error_code ec;
  const auto address = boost::asio::ip::make_address(host, ec);
  return !ec && address.is_loopback();
}

std::optional<std::pair<unsigned, unsigned>> parse_shard(const std::string& text, std::string& error) {
  auto number = [](std::string_view s) -> std::optional<unsigned> {
    unsigned v = 0;
    if (s.empty() || s.size() > 5) return std::nullopt;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc{} || p != s.data() + s.size()) return std::nullopt;
    return v;
  };
  const auto slash = text.find('/');
  auto index = slash == std::string::npos ? std::nullopt : number(std::string_view(text).substr(0, slash));
  auto count = slash == std::string::npos ? std::nullopt : number(std::string_view(text).substr(slash + 1));
  if (!index || !count || *index < 1 || *count > 10000 || *index > *count) {
    error = fmt::format("--shard takes I/N with 1 <= I <= N <= 10000, e.g. 2/4; not \"{}\"", text);
    return std::nullopt;
  }
  return std::pair{*index, *count};
}

OutputFile::~OutputFile() {
  if (f_) std::fclose(f_);
}

bool OutputFile::open(const std::string& path, std::string& error) {
  path_ = path;
  if (path.empty()) return true;
  f_ = std::fopen(path.c_str(), "w");
  if (!f_) error = fmt::format("cannot write {}: {}", path, std::strerror(errno));
  return f_ != nullptr;
}

bool OutputFile::write(std::string_view text, std::string& error) {
  if (!f_) return path_.empty();
  std::FILE* f = std::exchange(f_, nullptr);
  const bool ok = std::fwrite(text.data(), 1, text.size(), f) == text.size() && std::fflush(f) == 0;
  const int saved = errno;
  const bool closed = std::fclose(f) == 0;
  if (!ok || !closed) error = fmt::format("cannot write {}: {}", path_, std::strerror(ok ? errno : saved));
  return ok && closed;
}

std::optional<Millis> parse_fixed(const std::string& text, std::string& error) {
  auto d = DurationExpr::parse(text, error);
  if (!d) return std::nullopt;
  if (d->relative()) {
    error = fmt::format("\"{}\" must be a fixed duration such as \"1s\"", text);
    return std::nullopt;
  }
  return d->resolve({});
}

void add_port_options(CLI::App* cmd, EndpointPorts& ports) {
  cmd->add_option("--upstream-port", ports.scripted, "Port of the fake upstream (default: any)");
  cmd->add_option("--refused-port", ports.refused, "Port held closed, for /__refused/ (default: any)");
  cmd->add_option("--blackhole-port", ports.blackhole, "Port whose connects never complete, for /__blackhole/");
  cmd->add_option("--accept-close-port", ports.accept_close, "Port that accepts then closes, for /__accept_close/");
  cmd->add_option("--accept-reset-port", ports.accept_reset, "Port that accepts then resets, for /__accept_reset/");
}

std::string describe_ports(const EndpointPorts& p) {
  return fmt::format("upstream 127.0.0.1:{}; /__refused/ :{}, /__blackhole/ :{}, /__accept_close/ :{}, "
                     "/__accept_reset/ :{}",
                     p.scripted, p.refused, p.blackhole, p.accept_close, p.accept_reset);
}

}  // namespace upfault::cli
