#pragma once
// An HTTP/2 server session that multiplexes, through nghttp2's server session: bytes in, requests
// out, responses in, bytes out. No I/O of its own (as nghttp2's mem_recv/mem_send): the fake
// upstream's driver (upstream/h2_mux.cpp) moves the bytes, and tests feed it from a client session
// in memory.
//
// It serves what a production origin serves, for load: many concurrent streams per connection,
// flow control (nghttp2 keeps every window and sends WINDOW_UPDATE), every SETTINGS parameter
// honoured, PING answered, no GOAWAY after a stream. Each request is answered with a whole, valid
// response (FixedResponse), or refused (RST_STREAM REFUSED_STREAM, RFC 9113 §8.7: safe to retry).
// The scripted faults do not come here: they run on h2::Session, one stream per connection.
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "h2/hpack.hpp"
#include "upfault/problem.hpp"

struct nghttp2_session;

namespace upfault::h2 {

/// A whole, valid response: `headers` (":status" first), `body`, `trailers` (none: END_STREAM on the body).
struct FixedResponse {
  std::vector<Field> headers;
  std::string body;
  std::vector<Field> trailers;
};

/// Why `r` is not a response a healthy origin sends (nghttp2 would send it as it is): a `:status`
/// that is not 3 digits from 200, another pseudo-field, a name that is not lowercase token
/// characters, a connection-specific field (RFC 9113 §8.2.2), a CR, LF or NUL in a value, a
/// content-length that is not the body's size; nullopt when it is one.
[[nodiscard]] std::optional<std::string> invalid_fixed_response(const FixedResponse& r);

class MuxServer {
 public:
  /// A request whose header block (and body, if any) has arrived: its stream and fields.
  struct Request {
    std::uint32_t stream = 0;
    std::vector<Field> fields;
  };
  /// `preface_sent`: the caller already sent the server preface, an empty SETTINGS (h2::Session
  /// sends it before it reads the first request); else the first output is that preface. Either way
  /// the first input must be the client preface.
  explicit MuxServer(bool preface_sent = false);
  ~MuxServer();
  MuxServer(const MuxServer&) = delete;
  MuxServer& operator=(const MuxServer&) = delete;

  /// Takes bytes the client sent. The error (nghttp2's words) once the client broke the protocol
  /// (a connection error): the GOAWAY that tells it is in the output, and then the session wants
  /// nothing more.
  [[nodiscard]] Result<void> receive(std::string_view bytes);
  /// The requests complete since the last call, in order; each must be answered (respond or refuse).
  [[nodiscard]] std::vector<Request> take_requests() { return std::exchange(requests_, {}); }
  /// Answers `stream` with `r`, which must stay alive until the stream closes (the body is sent
  /// from it as the windows open).
  void respond(std::uint32_t stream, std::shared_ptr<const FixedResponse> r);
  /// Refuses `stream`: RST_STREAM REFUSED_STREAM.
  void refuse(std::uint32_t stream);
  /// The bytes to send now (frames), as the windows allow.
  [[nodiscard]] std::string take_output();
  /// False once the session is over (a GOAWAY sent or received and every stream closed, or a
  /// protocol error): the caller sends take_output() and closes.
  [[nodiscard]] bool wants_more() const;
  /// Streams answered with a whole response so far.
  [[nodiscard]] std::uint64_t served() const { return served_; }

 private:
  struct Stream {
    std::vector<Field> fields;
    std::size_t field_bytes = 0;
    std::shared_ptr<const FixedResponse> response;
    std::size_t sent = 0;  // body bytes given to nghttp2
  };
  friend struct MuxCallbacks;

  nghttp2_session* session_ = nullptr;
  std::map<std::uint32_t, Stream> streams_;
  std::vector<Request> requests_;
  std::uint64_t served_ = 0;
  std::string failure_;  // the client's first connection error, in nghttp2's words
  std::string output_;   // made by receive(), not yet taken
  std::string send_now();
};

}  // namespace upfault::h2
