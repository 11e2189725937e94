#pragma once
/// Incremental parsing of an HTTP/1.1 response from raw bytes (Beast's basic_parser underneath,
/// the fields kept as strings: a field line may be as long as the header limit allows).
/// Memory is bounded whatever the peer sends: a header section up to its limit (1 MiB or what the
/// scenario sends), the body's first kBodyKeep bytes.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "upfault/observed.hpp"
#include "upfault/scenario.hpp"

namespace upfault {

/// How much of a response body is kept as bytes; beyond it, its size and SHA-1 stand for it.
inline constexpr std::size_t kBodyKeep = 64 * 1024;
/// The smallest header section a client accepts (a proxy may forward one this large).
inline constexpr std::size_t kMinHeaderLimit = 1 << 20;

/// The SHA-1 (hex) of `body`, as ResponseReader::body_digest computes it.
[[nodiscard]] std::string body_digest(std::string_view body);

/// Feeds raw bytes and reports when a complete response has been seen. Interim 1xx
/// responses (other than 101) are collected separately and parsing continues with the next.
class ResponseReader {
 public:
  enum class State { need_more, complete, error };

  /// `keep`: how many body bytes response().body holds (the rest is counted and hashed).
  /// `header_limit`: the largest header section accepted (memory grows to it only as bytes come).
  explicit ResponseReader(bool head_request = false, std::size_t keep = kBodyKeep,
                          std::size_t header_limit = kMinHeaderLimit);
  ~ResponseReader();
  ResponseReader(ResponseReader&&) noexcept;
  ResponseReader& operator=(ResponseReader&&) noexcept;

  /// Consumes bytes; returns the state after them. Bytes after a complete message are not part of
  /// it: take_leftover() hands them over (to read the next response on the connection).
  State feed(std::string_view bytes);
  /// Once complete: the bytes fed past the message's end (the start of whatever comes next).
  [[nodiscard]] std::string take_leftover();
  /// The peer closed the connection: completes a close-delimited body, or errors.
  State eof();

  [[nodiscard]] State state() const { return state_; }
  [[nodiscard]] bool header_done() const;
  /// Status, reason, headers and the body so far; valid once header_done. `headers` holds the
  /// header section's fields, then a chunked body's trailer fields as they arrive.
  [[nodiscard]] const ResponseImage& response();
  [[nodiscard]] const std::vector<int>& interim() const { return interim_; }
  [[nodiscard]] const std::string& error() const { return error_; }
  /// Body bytes received so far. response().body holds only the first kBodyKeep of them.
  [[nodiscard]] std::uint64_t body_bytes() const;
  /// The SHA-1 (hex) of every body byte received so far.
  [[nodiscard]] std::string body_digest() const;
  /// Records what was read into `result`: whether the header was complete, the response (its
  /// body's first kBodyKeep bytes), the body's size and digest, the interim statuses.
  void record(ClientResult& result);
  /// Interim responses beyond this many make the response invalid (a proxy flooding 1xx).
  static constexpr std::size_t kMaxInterim = 100;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  State state_ = State::need_more;
  ResponseImage image_;
  std::vector<int> interim_;
  std::string error_;
  bool header_captured_ = false;  // image_ holds the current message's header
  void capture_header();
};

/// Parses `bytes` as one whole response (a close after them ends a close-delimited body).
/// Returns nullopt when they do not form a complete valid response.
[[nodiscard]] std::optional<ResponseImage> parse_complete_response(std::string_view bytes);

/// Serialises a structured response: status line, headers in order, body as given.
[[nodiscard]] std::string serialize_response(const ResponseImage& r);

/// Renders bytes for a person: printable ASCII as is, the rest as \r \n \xNN; cut at `max`.
[[nodiscard]] std::string printable(std::string_view bytes, std::size_t max = 80);

}  // namespace upfault
