// The multiplexing HTTP/2 server session (see mux_server.hpp), on nghttp2's server session.
#include "h2/mux_server.hpp"

#include <fmt/format.h>
#include <nghttp2/nghttp2.h>

#include <algorithm>
#include <cstring>
#include <stdexcept>
#include <utility>

#include "h2/frame.hpp"

namespace upfault::h2 {

namespace {
constexpr std::size_t kMaxFieldBytes =
    64 * 1024;  // a request's header list, counted as SETTINGS_MAX_HEADER_LIST_SIZE does

bool token_lowercase(std::string_view name) {
  constexpr std::string_view extra = "!#$%&'*+-.^_`|~";
  return !name.empty() && std::all_of(name.begin(), name.end(), [&](char ch) {
    return (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || extra.find(ch) != std::string_view::npos;
  });
}

nghttp2_nv nv(const Field& f) {
  auto* name = reinterpret_cast<std::uint8_t*>(const_cast<char*>(f.first.data()));
  auto* value = reinterpret_cast<std::uint8_t*>(const_cast<char*>(f.second.data()));
  return {name, value, f.first.size(), f.second.size(), NGHTTP2_NV_FLAG_NONE};
}

std::vector<nghttp2_nv> nvs(const std::vector<Field>& fields) {
  std::vector<nghttp2_nv> out;
  out.reserve(fields.size());
  for (const auto& f : fields) out.push_back(nv(f));
  return out;
}
}  // namespace

std::optional<std::string> invalid_fixed_response(const FixedResponse& r) {
  const auto& h = r.headers;
  if (h.empty() || h.front().first != ":status") return "the first field is not :status";
  const auto& status = h.front().second;
  if (status.size() != 3 ||
      !std::all_of(status.begin(), status.end(), [](char ch) { return ch >= '0' && ch <= '9'; }) || status < "200")
    return fmt::format(":status {} is not a final status (3 digits from 200)", status);
  constexpr std::string_view connection_specific[] = {"connection", "keep-alive", "proxy-connection",
                                                      "transfer-encoding", "upgrade"};
  for (const auto* list : {&h, &r.trailers}) {
    for (std::size_t i = list == &h ? 1 : 0; i < list->size(); ++i) {
      const auto& [name, value] = (*list)[i];
      if (!token_lowercase(name)) return fmt::format("field name \"{}\" is not lowercase token characters", name);
      if (std::find(std::begin(connection_specific), std::end(connection_specific), name) !=
          std::end(connection_specific))
        return fmt::format("{} is connection-specific (RFC 9113 §8.2.2)", name);
      if (value.find_first_of(std::string_view("\r\n\0", 3)) != std::string::npos)
        return fmt::format("the value of {} holds a CR, LF or NUL", name);
      if (name == "content-length" && value != std::to_string(r.body.size()))
        return fmt::format("content-length {} is not the body's size {}", value, r.body.size());
    }
  }
  return std::nullopt;
}

// nghttp2's callbacks, with the MuxServer as user data.
struct MuxCallbacks {
  static MuxServer& self(void* user) { return *static_cast<MuxServer*>(user); }

  static int begin_headers(nghttp2_session*, const nghttp2_frame* frame, void* user) {
    if (frame->hd.type == NGHTTP2_HEADERS && frame->headers.cat == NGHTTP2_HCAT_REQUEST)
      self(user).streams_[static_cast<std::uint32_t>(frame->hd.stream_id)] = {};
    return 0;
  }

  static int header(nghttp2_session*, const nghttp2_frame* frame, const std::uint8_t* name, std::size_t namelen,
                    const std::uint8_t* value, std::size_t valuelen, std::uint8_t, void* user) {
    if (frame->hd.type != NGHTTP2_HEADERS || frame->headers.cat != NGHTTP2_HCAT_REQUEST) return 0;  // trailers
    auto it = self(user).streams_.find(static_cast<std::uint32_t>(frame->hd.stream_id));
    if (it == self(user).streams_.end()) return 0;
    auto& s = it->second;
    s.field_bytes += namelen + valuelen + 32;
    if (s.field_bytes > kMaxFieldBytes) return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;  // the stream is reset
    s.fields.emplace_back(std::string(reinterpret_cast<const char*>(name), namelen),
                          std::string(reinterpret_cast<const char*>(value), valuelen));
    return 0;
  }

  // A request is complete at its END_STREAM (on HEADERS, or on the body's last DATA).
  static int frame_recv(nghttp2_session*, const nghttp2_frame* frame, void* user) {
    const auto type = frame->hd.type;
    if ((type != NGHTTP2_HEADERS && type != NGHTTP2_DATA) || !(frame->hd.flags & NGHTTP2_FLAG_END_STREAM)) return 0;
    auto& me = self(user);
    const auto id = static_cast<std::uint32_t>(frame->hd.stream_id);
    auto it = me.streams_.find(id);
    if (it == me.streams_.end()) return 0;
    me.requests_.push_back({id, std::move(it->second.fields)});
    return 0;
  }

  // The GOAWAY nghttp2 sends for a connection error of the client's (the first one's code and text
  // are kept; its debug data says what the client did).
  static int frame_send(nghttp2_session*, const nghttp2_frame* frame, void* user) {
    auto& me = self(user);
    if (frame->hd.type != NGHTTP2_GOAWAY || frame->goaway.error_code == NGHTTP2_NO_ERROR || !me.failure_.empty())
      return 0;
    const std::string_view debug(reinterpret_cast<const char*>(frame->goaway.opaque_data),
                                 frame->goaway.opaque_data_len);
    me.failure_ = fmt::format("{} ({})", nghttp2_http2_strerror(frame->goaway.error_code), debug);
    return 0;
  }

  static int stream_close(nghttp2_session*, std::int32_t stream, std::uint32_t error, void* user) {
    auto& me = self(user);
    auto it = me.streams_.find(static_cast<std::uint32_t>(stream));
    if (it == me.streams_.end()) return 0;
    if (error == NGHTTP2_NO_ERROR && it->second.response) ++me.served_;
    me.streams_.erase(it);
    return 0;
  }

  // The body, as much as the windows and the frame size allow each time; then the trailers.
  static ssize_t read_body(nghttp2_session* session, std::int32_t stream, std::uint8_t* buf, std::size_t length,
                           std::uint32_t* flags, nghttp2_data_source*, void* user) {
    auto it = self(user).streams_.find(static_cast<std::uint32_t>(stream));
    if (it == self(user).streams_.end() || !it->second.response) return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
    auto& s = it->second;
    const auto& r = *s.response;
    const auto n = std::min(length, r.body.size() - s.sent);
    if (n > 0) std::memcpy(buf, r.body.data() + s.sent, n);
    s.sent += n;
    if (s.sent < r.body.size()) return static_cast<ssize_t>(n);
    *flags |= NGHTTP2_DATA_FLAG_EOF;
    if (!r.trailers.empty()) {
      *flags |= NGHTTP2_DATA_FLAG_NO_END_STREAM;
      const auto t = nvs(r.trailers);
      if (nghttp2_submit_trailer(session, stream, t.data(), t.size()) != 0)
        return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
    }
    return static_cast<ssize_t>(n);
  }
};

MuxServer::MuxServer(bool preface_sent) {
  nghttp2_session_callbacks* cb = nullptr;
  if (nghttp2_session_callbacks_new(&cb) != 0) throw std::bad_alloc();
  nghttp2_session_callbacks_set_on_begin_headers_callback(cb, MuxCallbacks::begin_headers);
  nghttp2_session_callbacks_set_on_header_callback(cb, MuxCallbacks::header);
  nghttp2_session_callbacks_set_on_frame_recv_callback(cb, MuxCallbacks::frame_recv);
  nghttp2_session_callbacks_set_on_stream_close_callback(cb, MuxCallbacks::stream_close);
  nghttp2_session_callbacks_set_on_frame_send_callback(cb, MuxCallbacks::frame_send);
  const int rv = nghttp2_session_server_new(&session_, cb, this);
  nghttp2_session_callbacks_del(cb);
  if (rv != 0) throw std::bad_alloc();
  // The server preface: an empty SETTINGS (every parameter at the RFC's initial value). When the
  // caller has sent it already, nghttp2 still has to count it as sent, so that the client's ACK
  // of it is expected: it is submitted here and its bytes, the same 9, are dropped.
  nghttp2_submit_settings(session_, NGHTTP2_FLAG_NONE, nullptr, 0);
  if (preface_sent && take_output() != serialize_frame(kSettings, 0, 0, ""))
    throw std::logic_error("nghttp2's server preface is not an empty SETTINGS");
}

MuxServer::~MuxServer() { nghttp2_session_del(session_); }

Result<void> MuxServer::receive(std::string_view bytes) {
  const auto rv = nghttp2_session_mem_recv(session_, reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size());
  if (rv < 0 && failure_.empty()) failure_ = nghttp2_strerror(static_cast<int>(rv));
  // What answers it (a connection error's GOAWAY, whose words are then known) is made now.
  output_ += send_now();
  if (!failure_.empty()) return problem(failure_);
  return {};
}

void MuxServer::respond(std::uint32_t stream, std::shared_ptr<const FixedResponse> r) {
  auto it = streams_.find(stream);
  if (it == streams_.end()) return;  // reset by the client meanwhile
  const auto head = nvs(r->headers);
  it->second.response = std::move(r);
  const bool bodiless = it->second.response->body.empty() && it->second.response->trailers.empty();
  nghttp2_data_provider body{};
  body.read_callback = MuxCallbacks::read_body;
  const auto id = static_cast<std::int32_t>(stream);
  if (nghttp2_submit_response(session_, id, head.data(), head.size(), bodiless ? nullptr : &body) != 0)
    nghttp2_submit_rst_stream(session_, NGHTTP2_FLAG_NONE, id, NGHTTP2_INTERNAL_ERROR);
}

void MuxServer::refuse(std::uint32_t stream) {
  nghttp2_submit_rst_stream(session_, NGHTTP2_FLAG_NONE, static_cast<std::int32_t>(stream), NGHTTP2_REFUSED_STREAM);
}

std::string MuxServer::take_output() { return std::exchange(output_, {}) + send_now(); }

std::string MuxServer::send_now() {
  std::string out;
  while (true) {
    const std::uint8_t* data = nullptr;
    const auto n = nghttp2_session_mem_send(session_, &data);
    if (n <= 0) break;  // nothing more now (or out of memory: the session's next call says so)
    out.append(reinterpret_cast<const char*>(data), static_cast<std::size_t>(n));
  }
  return out;
}

bool MuxServer::wants_more() const {
  return nghttp2_session_want_read(session_) != 0 || nghttp2_session_want_write(session_) != 0;
}

}  // namespace upfault::h2
