// HTTP/2 framing (see frame.hpp).
#include "h2/frame.hpp"

#include <fmt/format.h>

#include <array>
#include <cctype>

namespace upfault::h2 {

namespace {
constexpr std::array<std::string_view, 10> kTypeNames = {"DATA",          "HEADERS",      "PRIORITY", "RST_STREAM",
                                                         "SETTINGS",      "PUSH_PROMISE", "PING",     "GOAWAY",
                                                         "WINDOW_UPDATE", "CONTINUATION"};
constexpr std::array<std::string_view, 14> kErrorNames = {"NO_ERROR",
                                                          "PROTOCOL_ERROR",
                                                          "INTERNAL_ERROR",
                                                          "FLOW_CONTROL_ERROR",
                                                          "SETTINGS_TIMEOUT",
                                                          "STREAM_CLOSED",
                                                          "FRAME_SIZE_ERROR",
                                                          "REFUSED_STREAM",
                                                          "CANCEL",
                                                          "COMPRESSION_ERROR",
                                                          "CONNECT_ERROR",
                                                          "ENHANCE_YOUR_CALM",
                                                          "INADEQUATE_SECURITY",
                                                          "HTTP_1_1_REQUIRED"};
constexpr std::uint32_t kMaxLength = (1u << 24) - 1;

std::string upper(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}
}  // namespace

void put_u32(std::string& out, std::uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) out += static_cast<char>((v >> shift) & 0xff);
}
void put_u16(std::string& out, std::uint16_t v) {
  out += static_cast<char>(v >> 8);
  out += static_cast<char>(v & 0xff);
}
std::uint32_t get_u32(std::string_view b) {
  std::uint32_t v = 0;
  for (std::size_t i = 0; i < 4 && i < b.size(); ++i) v = (v << 8) | static_cast<unsigned char>(b[i]);
  return v;
}

FrameHeader parse_frame_header(std::string_view b) {
  FrameHeader h;
  auto u = [&](std::size_t i) { return static_cast<std::uint32_t>(static_cast<unsigned char>(b[i])); };
  h.length = (u(0) << 16) | (u(1) << 8) | u(2);
  h.type = static_cast<std::uint8_t>(u(3));
  h.flags = static_cast<std::uint8_t>(u(4));
  h.stream = get_u32(b.substr(5, 4)) & 0x7fffffffu;
  return h;
}

std::string serialize_frame_raw(std::uint32_t length, std::uint8_t type, std::uint8_t flags, std::uint32_t stream,
                                std::string_view payload) {
  std::string out;
  out.reserve(kFrameHeaderSize + payload.size());
  out += static_cast<char>((length >> 16) & 0xff);
  out += static_cast<char>((length >> 8) & 0xff);
  out += static_cast<char>(length & 0xff);
  out += static_cast<char>(type);
  out += static_cast<char>(flags);
  put_u32(out, stream & 0x7fffffffu);
  out.append(payload);
  return out;
}

std::string serialize_frame(std::uint8_t type, std::uint8_t flags, std::uint32_t stream, std::string_view payload) {
  if (payload.size() > kMaxLength) payload = payload.substr(0, kMaxLength);
  return serialize_frame_raw(static_cast<std::uint32_t>(payload.size()), type, flags, stream, payload);
}

Take take_frame(std::string& buf, std::size_t max_payload, Frame& out) {
  if (buf.size() < kFrameHeaderSize) return Take::incomplete;
  const auto h = parse_frame_header(buf);
  if (h.length > max_payload) return Take::too_large;
  if (buf.size() < kFrameHeaderSize + h.length) return Take::incomplete;
  out.header = h;
  out.payload.assign(buf, kFrameHeaderSize, h.length);
  buf.erase(0, kFrameHeaderSize + h.length);
  return Take::frame;
}

std::optional<Goaway> parse_goaway(const Frame& f) {
  const std::string_view p = f.payload;
  if (f.header.type != kGoaway || p.size() < 8) return std::nullopt;
  return Goaway{get_u32(p) & 0x7fffffffu, get_u32(p.substr(4)), std::string(p.substr(8))};
}

std::optional<RstStream> parse_rst_stream(const Frame& f) {
  if (f.header.type != kRstStream || f.payload.size() < 4) return std::nullopt;
  return RstStream{f.header.stream, get_u32(f.payload)};
}

std::optional<Priority> parse_priority(const Frame& f) {
  std::string_view p = f.payload;
  if (f.header.type == kHeaders) {
    if (!(f.header.flags & kPriorityFlag)) return std::nullopt;
    if ((f.header.flags & kPadded) && !p.empty()) p.remove_prefix(1);
  } else if (f.header.type != kPriority) {
    return std::nullopt;
  }
  if (p.size() < 5) return std::nullopt;
  const auto dep = get_u32(p);
  return Priority{(dep & 0x80000000u) != 0, dep & 0x7fffffffu, static_cast<std::uint8_t>(p[4])};
}

std::optional<std::string_view> parse_header_fragment(const Frame& f) {
  if (f.header.type != kHeaders && f.header.type != kContinuation) return std::nullopt;
  std::string_view p = f.payload;
  std::size_t pad = 0;
  if (f.header.type == kHeaders && (f.header.flags & kPadded)) {
    if (p.empty()) return std::nullopt;
    pad = static_cast<unsigned char>(p[0]);
    p.remove_prefix(1);
  }
  if (f.header.type == kHeaders && (f.header.flags & kPriorityFlag)) {
    if (p.size() < 5) return std::nullopt;
    p.remove_prefix(5);
  }
  if (pad > p.size()) return std::nullopt;
  return p.substr(0, p.size() - pad);
}

std::optional<std::string> apply_settings(const Frame& f, Settings& s) {
  const std::string_view p = f.payload;
  if (f.header.stream != 0) return fmt::format("SETTINGS on stream {} (RFC 9113 §6.5)", f.header.stream);
  if (f.header.flags & kAck)
    return p.empty() ? std::nullopt : std::optional<std::string>("a SETTINGS ACK with a payload");
  if (p.size() % 6 != 0) return fmt::format("SETTINGS of {} bytes, not a multiple of 6 (RFC 9113 §6.5)", p.size());
  Settings out = s;
  for (std::size_t i = 0; i < p.size(); i += 6) {
    const auto id =
        static_cast<std::uint16_t>((static_cast<unsigned char>(p[i]) << 8) | static_cast<unsigned char>(p[i + 1]));
    const auto v = get_u32(p.substr(i + 2, 4));
    switch (id) {
      case kHeaderTableSize: out.header_table_size = v; break;
      case kEnablePush:
        if (v > 1) return fmt::format("SETTINGS_ENABLE_PUSH {} (RFC 9113 §6.5.2: 0 or 1)", v);
        out.enable_push = v;
        break;
      case kMaxConcurrentStreams: out.max_concurrent_streams = v; break;
      case kInitialWindowSize:
        if (v > kMaxWindow) return fmt::format("SETTINGS_INITIAL_WINDOW_SIZE {} over 2^31-1 (RFC 9113 §6.5.2)", v);
        out.initial_window_size = v;
        break;
      case kMaxFrameSize:
        if (v < kDefaultMaxFrame || v > kMaxLength)
          return fmt::format("SETTINGS_MAX_FRAME_SIZE {} outside 16384..16777215 (RFC 9113 §6.5.2)", v);
        out.max_frame_size = v;
        break;
      case kMaxHeaderListSize: out.max_header_list_size = v; break;
      default: break;  // unknown: ignored
    }
  }
  s = out;
  return std::nullopt;
}

std::optional<std::uint32_t> parse_window_update(const Frame& f) {
  if (f.header.type != kWindowUpdate || f.payload.size() != 4) return std::nullopt;
  return get_u32(f.payload) & 0x7fffffffu;
}

std::string serialize_window_update(std::uint32_t stream, std::uint32_t increment) {
  std::string payload;
  put_u32(payload, increment & 0x7fffffffu);
  return serialize_frame(kWindowUpdate, 0, stream, payload);
}

std::string serialize_goaway(std::uint32_t last_stream, std::uint32_t code) {
  std::string payload;
  put_u32(payload, last_stream);
  put_u32(payload, code);
  return serialize_frame(kGoaway, 0, 0, payload);
}

std::string serialize_rst_stream(std::uint32_t stream, std::uint32_t code) {
  std::string payload;
  put_u32(payload, code);
  return serialize_frame(kRstStream, 0, stream, payload);
}

std::string type_name(std::uint8_t type) {
  if (type < kTypeNames.size()) return std::string(kTypeNames[type]);
  return fmt::format("UNKNOWN(0x{:02x})", type);
}

std::optional<std::uint8_t> type_from_name(std::string_view name) {
  const auto u = upper(name);
  for (std::size_t i = 0; i < kTypeNames.size(); ++i)
    if (kTypeNames[i] == u) return static_cast<std::uint8_t>(i);
  return std::nullopt;
}

std::string error_name(std::uint32_t code) {
  if (code < kErrorNames.size()) return std::string(kErrorNames[code]);
  return fmt::format("0x{:x}", code);
}

std::optional<std::uint32_t> error_from_name(std::string_view name) {
  const auto u = upper(name);
  for (std::size_t i = 0; i < kErrorNames.size(); ++i)
    if (kErrorNames[i] == u) return static_cast<std::uint32_t>(i);
  return std::nullopt;
}

std::string describe(const Frame& f) {
  const auto& h = f.header;
  auto text = fmt::format("{} stream {} flags 0x{:02x} length {}", type_name(h.type), h.stream, h.flags, h.length);
  const std::string_view p = f.payload;
  if ((h.type == kSettings || h.type == kPing) && (h.flags & kAck)) text += " ack";
  if (auto rst = parse_rst_stream(f)) text += " " + error_name(rst->code);
  if (auto g = parse_goaway(f)) text += fmt::format(" last-stream {} {}", g->last_stream, error_name(g->code));
  if (auto pri = parse_priority(f)) text += fmt::format(" depends-on {}", pri->depends_on);
  if (h.type == kWindowUpdate && p.size() >= 4) text += fmt::format(" increment {}", get_u32(p) & 0x7fffffffu);
  return text;
}

}  // namespace upfault::h2
