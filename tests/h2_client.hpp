#pragma once
// A raw HTTP/2 client for tests: sends the bytes a test writes (the preface, frames as they are,
// valid or not) to the fake upstream and reads every frame back until the upstream closes or a
// deadline passes, so a test reads the GOAWAY or RST_STREAM it was answered with, typed.
#include <gtest/gtest.h>
#include <poll.h>

#include <array>
#include <boost/asio.hpp>
#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "h2/frame.hpp"
#include "h2/hpack.hpp"

namespace upfault::test {

/// The client preface and an empty SETTINGS.
inline std::string h2_preface() { return std::string(h2::kPreface) + h2::serialize_frame(h2::kSettings, 0, 0, ""); }

/// The HPACK block of `GET path` (scheme http, authority x), from a fresh encoder.
inline std::string h2_request_block(const std::string& path) {
  h2::Encoder enc;
  return enc.encode({{":method", "GET"}, {":scheme", "http"}, {":authority", "x"}, {":path", path}}).value_or("");
}

/// A PRIORITY frame's payload, or the priority fields of HEADERS: depends on `on`, weight 16.
inline std::string h2_priority(std::uint32_t on) {
  std::string p;
  h2::put_u32(p, on);
  p += static_cast<char>(15);
  return p;
}

/// What the upstream sent back.
struct H2Answer {
  std::vector<h2::Frame> frames;
  bool closed = false;  ///< the upstream closed (FIN or reset) before the deadline

  /// The first GOAWAY, typed.
  [[nodiscard]] std::optional<h2::Goaway> goaway() const {
    for (const auto& f : frames)
      if (auto g = h2::parse_goaway(f)) return g;
    return std::nullopt;
  }
  /// The first RST_STREAM, typed.
  [[nodiscard]] std::optional<h2::RstStream> rst_stream() const {
    for (const auto& f : frames)
      if (auto r = h2::parse_rst_stream(f)) return r;
    return std::nullopt;
  }
  /// How many frames of `type` came.
  [[nodiscard]] std::size_t count(std::uint8_t type) const {
    std::size_t n = 0;
    for (const auto& f : frames) n += f.header.type == type ? 1 : 0;
    return n;
  }
  /// The DATA payload bytes that came on `stream`.
  [[nodiscard]] std::size_t data_bytes(std::uint32_t stream) const {
    std::size_t n = 0;
    for (const auto& f : frames) n += f.header.type == h2::kData && f.header.stream == stream ? f.payload.size() : 0;
    return n;
  }
  /// The index of the first frame of `type` on `stream`, or frames.size().
  [[nodiscard]] std::size_t find(std::uint8_t type, std::uint32_t stream) const {
    for (std::size_t i = 0; i < frames.size(); ++i)
      if (frames[i].header.type == type && frames[i].header.stream == stream) return i;
    return frames.size();
  }
  /// True once `stream` has ended: END_STREAM on its HEADERS or DATA, or its RST_STREAM.
  [[nodiscard]] bool stream_over(std::uint32_t stream = 1) const {
    for (const auto& f : frames)
      if (f.header.stream == stream &&
          (f.header.type == h2::kRstStream ||
           ((f.header.type == h2::kHeaders || f.header.type == h2::kData) && (f.header.flags & h2::kEndStream))))
        return true;
    return false;
  }
  /// One line per frame, for failure messages.
  [[nodiscard]] std::string text() const {
    std::string out;
    for (const auto& f : frames) out += h2::describe(f) + "\n";
    return out + (closed ? "(closed)" : "(still open at the deadline)");
  }
};

/// Connects to 127.0.0.1:`port`, sends `bytes`, and reads frames until the upstream closes,
/// `done` holds (if given), or `deadline` (default 3 s) passes.
inline H2Answer h2_exchange(unsigned short port, const std::string& bytes,
                            std::chrono::milliseconds deadline = std::chrono::milliseconds(3000),
                            const std::function<bool(const H2Answer&)>& done = nullptr) {
  namespace asio = boost::asio;
  asio::io_context ioc;
  asio::ip::tcp::socket sock(ioc);
  sock.connect({asio::ip::make_address("127.0.0.1"), port});
  asio::write(sock, asio::buffer(bytes));
  H2Answer answer;
  std::string in;
  std::array<char, 4096> buf{};
  std::function<void()> read = [&] {
    sock.async_read_some(asio::buffer(buf), [&](const boost::system::error_code& ec, std::size_t n) {
      in.append(buf.data(), n);
      h2::Frame f;
      while (h2::take_frame(in, 1u << 20, f) == h2::Take::frame) answer.frames.push_back(f);
      if (ec) {
        answer.closed = true;
        return;
      }
      if (done && done(answer)) return;
      if (answer.frames.size() < 4096 && in.size() < (1u << 20)) read();
    });
  };
  read();
  ioc.run_for(deadline);
  return answer;
}

/// A client connection a test drives step by step: it sends bytes when the test says and reads
/// frames until a condition holds, the upstream closes, or a deadline passes.
class H2Conn {
 public:
  explicit H2Conn(unsigned short port) : sock_(ioc_) {
    sock_.connect({boost::asio::ip::make_address("127.0.0.1"), port});
  }
  void send(const std::string& bytes) { boost::asio::write(sock_, boost::asio::buffer(bytes)); }
  /// Reads until `done(answer)` holds, the upstream closes, or `timeout` (default 3 s) passes;
  /// returns every frame read on the connection so far.
  const H2Answer& read_until(const std::function<bool(const H2Answer&)>& done,
                             std::chrono::milliseconds timeout = std::chrono::milliseconds(3000)) {
    const auto end = std::chrono::steady_clock::now() + timeout;
    std::array<char, 4096> buf{};
    while (!done(answer_) && !answer_.closed) {
      const auto left =
          std::chrono::duration_cast<std::chrono::milliseconds>(end - std::chrono::steady_clock::now()).count();
      pollfd p{sock_.native_handle(), POLLIN, 0};
      if (left <= 0 || ::poll(&p, 1, static_cast<int>(left)) <= 0) break;
      boost::system::error_code ec;
      const auto n = sock_.read_some(boost::asio::buffer(buf), ec);
      in_.append(buf.data(), n);
      answer_.closed = ec.failed();
      h2::Frame f;
      while (h2::take_frame(in_, 1u << 20, f) == h2::Take::frame) answer_.frames.push_back(f);
    }
    return answer_;
  }
  /// Reads for `d`, whatever comes.
  const H2Answer& read_for(std::chrono::milliseconds d) {
    return read_until([](const H2Answer&) { return false; }, d);
  }

 private:
  boost::asio::io_context ioc_;
  boost::asio::ip::tcp::socket sock_;
  std::string in_;
  H2Answer answer_;
};

}  // namespace upfault::test
