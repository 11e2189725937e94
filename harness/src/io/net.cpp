#include "io/net.hpp"

#include <fcntl.h>

namespace upfault::net {

tcp::endpoint endpoint(const std::string& host, unsigned short port) { return {asio::ip::make_address(host), port}; }

bool is_reset(const error_code& ec) {
  return ec == asio::error::connection_reset || ec == asio::error::broken_pipe || ec == asio::error::connection_aborted;
}

std::size_t head_end(std::string_view buf) {
  auto crlf = buf.find("\r\n\r\n");
  auto lf = buf.find("\n\n");
  if (crlf == std::string_view::npos && lf == std::string_view::npos) return std::string_view::npos;
  if (lf == std::string_view::npos || (crlf != std::string_view::npos && crlf < lf)) return crlf + 4;
  return lf + 2;
}

void close_on_exec(int fd) { ::fcntl(fd, F_SETFD, ::fcntl(fd, F_GETFD) | FD_CLOEXEC); }

}  // namespace upfault::net
