#pragma once
// HTTP/2 framing (RFC 9113 §4, §6): the frame header, serialisation, and a bounded reader that
// takes whole frames off the front of a buffer. No I/O here: the fake upstream's HTTP/2 server
// (upstream/h2_session.hpp) feeds it from its connection.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace upfault::h2 {

/// The client connection preface (RFC 9113 §3.4).
inline constexpr std::string_view kPreface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
inline constexpr std::size_t kFrameHeaderSize = 9;
/// SETTINGS_MAX_FRAME_SIZE's initial value: the largest payload a peer must accept.
inline constexpr std::uint32_t kDefaultMaxFrame = 16384;

/// The initial flow-control window of the connection and of each stream (RFC 9113 §6.9.2), and the largest.
inline constexpr std::uint32_t kDefaultWindow = 65535;
inline constexpr std::uint32_t kMaxWindow = 0x7fffffff;

/// Frame types (RFC 9113 §6).
enum FrameType : std::uint8_t {
  kData = 0,
  kHeaders = 1,
  kPriority = 2,
  kRstStream = 3,
  kSettings = 4,
  kPushPromise = 5,
  kPing = 6,
  kGoaway = 7,
  kWindowUpdate = 8,
  kContinuation = 9,
};

/// Frame flags.
enum FrameFlag : std::uint8_t {
  kEndStream = 0x1,
  kAck = 0x1,
  kEndHeaders = 0x4,
  kPadded = 0x8,
  kPriorityFlag = 0x20,
};

/// Error codes (RFC 9113 §7) the fake upstream sends on its own.
enum ErrorCode : std::uint32_t {
  kNoError = 0,
  kProtocolError = 1,
  kFlowControlError = 3,
  kFrameSizeError = 6,
  kRefusedStream = 7,
  kCompressionError = 9,
};

/// The 9-byte frame header.
struct FrameHeader {
  std::uint32_t length = 0;  ///< 24 bits
  std::uint8_t type = 0;
  std::uint8_t flags = 0;
  std::uint32_t stream = 0;  ///< 31 bits (the reserved bit is dropped)
};

/// One whole frame.
struct Frame {
  FrameHeader header;
  std::string payload;
};

/// A GOAWAY frame's fields (RFC 9113 §6.8).
struct Goaway {
  std::uint32_t last_stream = 0;
  std::uint32_t code = 0;
  std::string debug;
};

/// A RST_STREAM frame's fields (RFC 9113 §6.4).
struct RstStream {
  std::uint32_t stream = 0;
  std::uint32_t code = 0;
};

/// The priority fields of a PRIORITY frame (RFC 9113 §6.3) or of HEADERS with the PRIORITY flag (§6.2).
struct Priority {
  bool exclusive = false;
  std::uint32_t depends_on = 0;
  std::uint8_t weight = 0;  ///< as sent: the weight minus 1
};

/// SETTINGS parameters (RFC 9113 §6.5.2).
enum SettingId : std::uint16_t {
  kHeaderTableSize = 1,
  kEnablePush = 2,
  kMaxConcurrentStreams = 3,
  kInitialWindowSize = 4,
  kMaxFrameSize = 5,
  kMaxHeaderListSize = 6,
};

/// A peer's settings, with the RFC's initial values until its SETTINGS say otherwise (§6.5.2).
struct Settings {
  std::uint32_t header_table_size = 4096;
  std::uint32_t enable_push = 1;
  std::optional<std::uint32_t> max_concurrent_streams;  ///< nullopt: no limit
  std::uint32_t initial_window_size = kDefaultWindow;
  std::uint32_t max_frame_size = kDefaultMaxFrame;
  std::optional<std::uint32_t> max_header_list_size;  ///< nullopt: no limit
};

/// Applies a SETTINGS frame's parameters to `s` in order (unknown ids are ignored, §6.5.2); an ACK
/// changes nothing. Returns why the frame is invalid instead, changing nothing: not a multiple of 6
/// bytes, an ACK with a payload, on a stream, ENABLE_PUSH other than 0 or 1, INITIAL_WINDOW_SIZE
/// over 2^31-1, MAX_FRAME_SIZE outside 16384..2^24-1.
[[nodiscard]] std::optional<std::string> apply_settings(const Frame& f, Settings& s);
/// A WINDOW_UPDATE's increment (the reserved bit dropped); nullopt unless `f` is a WINDOW_UPDATE of 4 bytes.
[[nodiscard]] std::optional<std::uint32_t> parse_window_update(const Frame& f);
/// A WINDOW_UPDATE frame.
[[nodiscard]] std::string serialize_window_update(std::uint32_t stream, std::uint32_t increment);

/// A GOAWAY's fields; nullopt unless `f` is a GOAWAY of at least 8 bytes.
[[nodiscard]] std::optional<Goaway> parse_goaway(const Frame& f);
/// A RST_STREAM's fields; nullopt unless `f` is a RST_STREAM of at least 4 bytes.
[[nodiscard]] std::optional<RstStream> parse_rst_stream(const Frame& f);
/// The priority fields of a PRIORITY frame, or of HEADERS with the PRIORITY flag (after the pad
/// length, if PADDED); nullopt when the frame carries none or they do not fit.
[[nodiscard]] std::optional<Priority> parse_priority(const Frame& f);
/// The header block fragment of a HEADERS or CONTINUATION frame, without padding and priority
/// fields; nullopt when they do not fit in the payload (or `f` is another type).
[[nodiscard]] std::optional<std::string_view> parse_header_fragment(const Frame& f);
/// A GOAWAY frame (stream 0, no debug data).
[[nodiscard]] std::string serialize_goaway(std::uint32_t last_stream, std::uint32_t code);
/// A RST_STREAM frame.
[[nodiscard]] std::string serialize_rst_stream(std::uint32_t stream, std::uint32_t code);

/// Parses the 9 bytes at the front of `bytes` (which must hold at least that many).
[[nodiscard]] FrameHeader parse_frame_header(std::string_view bytes);
/// The frame on the wire. `payload` longer than 2^24 - 1 bytes is cut to that (the length field's
/// width): a scenario that wants a lying length writes the frame with `h2_frame`'s `length`.
[[nodiscard]] std::string serialize_frame(std::uint8_t type, std::uint8_t flags, std::uint32_t stream,
                                          std::string_view payload);
/// Like serialize_frame, with the length field set to `length` whatever the payload's size.
[[nodiscard]] std::string serialize_frame_raw(std::uint32_t length, std::uint8_t type, std::uint8_t flags,
                                              std::uint32_t stream, std::string_view payload);

/// What take_frame found at the front of the buffer.
enum class Take { frame, incomplete, too_large };

/// Takes the first whole frame off the front of `buf` into `out`. `too_large` when its declared
/// length exceeds `max_payload` (nothing is consumed: the caller ends the connection), so the
/// buffer never has to hold more than one frame of at most `max_payload` bytes.
[[nodiscard]] Take take_frame(std::string& buf, std::size_t max_payload, Frame& out);

/// The type's name ("HEADERS"), or "UNKNOWN(0xNN)".
[[nodiscard]] std::string type_name(std::uint8_t type);
/// The type's number for its name ("headers", "HEADERS", "rst_stream"); nullopt for an unknown one.
[[nodiscard]] std::optional<std::uint8_t> type_from_name(std::string_view name);
/// The error code's name ("PROTOCOL_ERROR"), or its number.
[[nodiscard]] std::string error_name(std::uint32_t code);
/// The error code's number for its name ("no_error", "CANCEL"); nullopt for an unknown one.
[[nodiscard]] std::optional<std::uint32_t> error_from_name(std::string_view name);
/// One line for the upstream log: "RST_STREAM stream 1 CANCEL", "SETTINGS ack", ...
[[nodiscard]] std::string describe(const Frame& f);

/// Big-endian helpers.
void put_u32(std::string& out, std::uint32_t v);
void put_u16(std::string& out, std::uint16_t v);
[[nodiscard]] std::uint32_t get_u32(std::string_view bytes);

}  // namespace upfault::h2
