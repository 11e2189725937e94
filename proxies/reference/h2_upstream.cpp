// The reference proxy's HTTP/2 upstream side (see h2_upstream.hpp).
#include "h2_upstream.hpp"

#include <fmt/format.h>
#include <nghttp2/nghttp2.h>

#include <algorithm>

#include "hop_by_hop.hpp"

namespace upfault_ref {

namespace http = beast::http;
using Fields = std::vector<std::pair<std::string, std::string>>;

namespace {
constexpr std::size_t kMaxBuffered = 16 << 20;  // body bytes held before the client has them
}  // namespace

struct H2Exchange::State {
  nghttp2_session* session = nullptr;
  std::int32_t stream = -1;
  std::string body_out;  // the request body
  std::size_t body_sent = 0;
  // The response.
  std::vector<std::pair<int, Fields>> interim;  // 1xx, not yet forwarded
  int status = 0;
  Fields fields, trailers;
  bool head_done = false, head_end_stream = false, in_trailers = false;
  std::string body;
  bool stream_closed = false;
  std::uint32_t close_error = 0;
  std::string failure;  // a connection-level failure
  bool lenient = false;
  bool head = false;  // HEAD request: no body
  Fields current;     // the header block being received
};

namespace {
using State = H2Exchange::State;

int on_begin_headers(nghttp2_session*, const nghttp2_frame*, void* user) {
  static_cast<State*>(user)->current.clear();
  return 0;
}

int on_header(nghttp2_session*, const nghttp2_frame* frame, const std::uint8_t* name, std::size_t namelen,
              const std::uint8_t* value, std::size_t valuelen, std::uint8_t, void* user) {
  auto* st = static_cast<State*>(user);
  if (frame->hd.stream_id != st->stream) return 0;
  if (st->current.size() >= 1000) return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;  // resets the stream
  st->current.emplace_back(std::string(reinterpret_cast<const char*>(name), namelen),
                           std::string(reinterpret_cast<const char*>(value), valuelen));
  return 0;
}

// A complete header block: an interim response, the final response, or trailers.
void on_header_block(State& st, bool end_stream) {
  if (st.head_done) {
    st.trailers = std::move(st.current);
    return;
  }
  int status = 0;
  Fields regular;
  for (auto& [n, v] : st.current) {
    if (n == ":status")
      status = std::atoi(v.c_str());
    else if (!n.empty() && n[0] != ':')
      regular.emplace_back(std::move(n), std::move(v));
  }
  if (status >= 100 && status < 200 && !end_stream) {
    st.interim.emplace_back(status, std::move(regular));
    return;
  }
  st.status = status;
  st.fields = std::move(regular);
  st.head_done = true;
  st.head_end_stream = end_stream;
}

int on_frame_recv(nghttp2_session*, const nghttp2_frame* frame, void* user) {
  auto* st = static_cast<State*>(user);
  if (frame->hd.type == NGHTTP2_HEADERS && frame->hd.stream_id == st->stream)
    on_header_block(*st, (frame->hd.flags & NGHTTP2_FLAG_END_STREAM) != 0);
  return 0;
}

int on_data_chunk(nghttp2_session*, std::uint8_t, std::int32_t stream, const std::uint8_t* data, std::size_t len,
                  void* user) {
  auto* st = static_cast<State*>(user);
  if (stream != st->stream) return 0;
  if (st->body.size() + len > kMaxBuffered) return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
  st->body.append(reinterpret_cast<const char*>(data), len);
  return 0;
}

int on_stream_close(nghttp2_session*, std::int32_t stream, std::uint32_t error, void* user) {
  auto* st = static_cast<State*>(user);
  if (stream != st->stream) return 0;
  st->stream_closed = true;
  st->close_error = error;
  return 0;
}

ssize_t read_body(nghttp2_session*, std::int32_t, std::uint8_t* buf, std::size_t length, std::uint32_t* flags,
                  nghttp2_data_source* source, void*) {
  auto* st = static_cast<State*>(source->ptr);
  const auto n = std::min(length, st->body_out.size() - st->body_sent);
  std::copy_n(st->body_out.data() + st->body_sent, n, buf);
  st->body_sent += n;
  if (st->body_sent == st->body_out.size()) *flags |= NGHTTP2_DATA_FLAG_EOF;
  return static_cast<ssize_t>(n);
}

nghttp2_nv nv(const std::string& name, const std::string& value) {
  return {reinterpret_cast<std::uint8_t*>(const_cast<char*>(name.data())),
          reinterpret_cast<std::uint8_t*>(const_cast<char*>(value.data())), name.size(), value.size(),
          NGHTTP2_NV_FLAG_NONE};
}

// The HTTP/1.1 field lines of an HTTP/2 header block: framing is recomputed, and
// connection-specific fields never belong to an HTTP/2 message (RFC 9113 §8.2.2).
std::string fields_text(const Fields& fields) {
  std::string out;
  for (const auto& [n, v] : fields) {
    if (is_hop_by_hop(n)) continue;
    std::string value = v;
    for (auto& c : value)
      if (c == '\r' || c == '\n') c = ' ';
    out += fmt::format("{}: {}\r\n", n, value);
  }
  return out;
}
}  // namespace

H2Request make_h2_request(const http::request<http::string_body>& req) {
  H2Request out;
  out.method = std::string(req.method_string());
  out.path = std::string(req.target());
  out.body = req.body();
  for (const auto& f : req) {
    auto name = to_lower(f.name_string());
    if (name == "host") out.authority = std::string(f.value());
    if (name == "host" || is_hop_by_hop(name)) continue;  // Host becomes :authority
    out.fields.emplace_back(std::move(name), std::string(f.value()));
  }
  out.fields.emplace_back("via", "1.1 upfault-reference");
  if (!out.body.empty()) out.fields.emplace_back("content-length", std::to_string(out.body.size()));
  return out;
}

H2Exchange::H2Exchange(const H2Request& req, const H2Options& opt) : st_(std::make_unique<State>()) {
  st_->lenient = opt.lenient;
  st_->head = req.method == "HEAD";
  st_->body_out = req.body;
  nghttp2_session_callbacks* cb = nullptr;
  nghttp2_session_callbacks_new(&cb);
  nghttp2_session_callbacks_set_on_begin_headers_callback(cb, on_begin_headers);
  nghttp2_session_callbacks_set_on_header_callback(cb, on_header);
  nghttp2_session_callbacks_set_on_frame_recv_callback(cb, on_frame_recv);
  nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cb, on_data_chunk);
  nghttp2_session_callbacks_set_on_stream_close_callback(cb, on_stream_close);
  nghttp2_option* o = nullptr;
  nghttp2_option_new(&o);
  nghttp2_option_set_no_http_messaging(o, opt.lenient ? 1 : 0);
  nghttp2_option_set_max_send_header_block_length(o, 64 * 1024);
  nghttp2_session_client_new2(&st_->session, cb, st_.get(), o);
  nghttp2_option_del(o);
  nghttp2_session_callbacks_del(cb);
  // Push off (RFC 9113 §8.4: a PUSH_PROMISE is then a connection error).
  const nghttp2_settings_entry settings[] = {{NGHTTP2_SETTINGS_ENABLE_PUSH, 0},
                                             {NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE, 64 * 1024}};
  nghttp2_submit_settings(st_->session, NGHTTP2_FLAG_NONE, settings, 2);
  const std::string scheme = "http", m = ":method", s = ":scheme", a = ":authority", p = ":path";
  std::vector<nghttp2_nv> nva = {nv(m, req.method), nv(s, scheme), nv(a, req.authority), nv(p, req.path)};
  for (const auto& [n, v] : req.fields) nva.push_back(nv(n, v));
  nghttp2_data_provider body{};
  body.source.ptr = st_.get();
  body.read_callback = read_body;
  st_->stream = nghttp2_submit_request(st_->session, nullptr, nva.data(), nva.size(),
                                       req.body.empty() ? nullptr : &body, nullptr);
  if (st_->stream < 0) st_->failure = "cannot submit the request";
}

H2Exchange::~H2Exchange() { nghttp2_session_del(st_->session); }

std::string H2Exchange::output() {
  std::string out;
  while (out.size() < (1 << 20)) {
    const std::uint8_t* data = nullptr;
    const auto n = nghttp2_session_mem_send(st_->session, &data);
    if (n < 0) {
      st_->failure = nghttp2_strerror(static_cast<int>(n));
      break;
    }
    if (n == 0) break;
    out.append(reinterpret_cast<const char*>(data), static_cast<std::size_t>(n));
  }
  return out;
}

bool H2Exchange::input(const char* data, std::size_t n) {
  const auto rv = nghttp2_session_mem_recv(st_->session, reinterpret_cast<const std::uint8_t*>(data), n);
  if (rv < 0) {
    st_->failure = fmt::format("HTTP/2 connection error: {}", nghttp2_strerror(static_cast<int>(rv)));
    return false;
  }
  return true;
}

void H2Exchange::closed_by_upstream(std::string why) {
  if (st_->failure.empty()) st_->failure = "the upstream closed the connection: " + why;
}

H2Exchange::Delivery H2Exchange::deliver() {
  auto& st = *st_;
  Delivery d;
  using Kind = Delivery::Kind;
  const bool session_over = !nghttp2_session_want_read(st.session) && !nghttp2_session_want_write(st.session);
  const bool failed_stream = st.stream_closed && st.close_error != 0;
  const bool gone = !st.failure.empty() || (session_over && !st.stream_closed);
  const std::string why =
      !st.failure.empty() ? st.failure
      : failed_stream     ? fmt::format("the upstream's stream ended with {}", nghttp2_http2_strerror(st.close_error))
                          : "the HTTP/2 connection ended";
  if (!header_sent_) {
    for (auto& [status, fields] : st.interim)  // RFC 9110 §15.2: interim responses are forwarded
      d.bytes += fmt::format("HTTP/1.1 {} {}\r\n{}\r\n", status,
                             std::string(http::obsolete_reason(http::int_to_status(static_cast<unsigned>(status)))),
                             fields_text(fields));
    st.interim.clear();
    if (!st.head_done || (failed_stream && !st.lenient)) {
      if (failed_stream || gone || st.stream_closed) d.kind = Kind::bad_gateway, d.why = why;
      return d;
    }
    if (st.status < 200 || st.status > 599) {
      d.kind = Kind::bad_gateway, d.why = fmt::format("the upstream sent :status {}", st.status);
      return d;
    }
    const bool bodyless = st.head || st.status == 204 || st.status == 304;
    std::string framing;
    const auto cl =
        std::find_if(st.fields.begin(), st.fields.end(), [](auto& f) { return f.first == "content-length"; });
    if (bodyless)
      framing = cl != st.fields.end() ? fmt::format("Content-Length: {}\r\n", cl->second) : "";
    else if (st.head_end_stream)
      framing = "Content-Length: 0\r\n";
    else if (cl != st.fields.end() && !st.lenient)  // nghttp2 checks the DATA against it (§8.1.1)
      framing = fmt::format("Content-Length: {}\r\n", cl->second);
    else
      framing = "Transfer-Encoding: chunked\r\n", chunked_ = true;
    d.bytes += fmt::format("HTTP/1.1 {} {}\r\n{}Via: 1.1 upfault-reference\r\nConnection: close\r\n{}\r\n", st.status,
                           std::string(http::obsolete_reason(http::int_to_status(static_cast<unsigned>(st.status)))),
                           fields_text(st.fields), framing);
    header_sent_ = true;
    if (bodyless) st.body.clear();
  }
  if (!st.body.empty()) {
    d.bytes += chunked_ ? fmt::format("{:x}\r\n{}\r\n", st.body.size(), st.body) : st.body;
    st.body.clear();
  }
  const bool ended_well = st.stream_closed && (st.close_error == 0 || st.lenient);
  if (ended_well || (st.lenient && gone)) {
    if (chunked_) d.bytes += fmt::format("0\r\n{}\r\n", fields_text(st.trailers));
    d.kind = Kind::done;
  } else if (failed_stream || gone) {
    d.kind = Kind::abort;  // the header went out: only an aborted connection tells the truth
  }
  return d;
}

asio::awaitable<void> connect_and_forward_h2(beast::tcp_stream& client, const asio::ip::tcp::endpoint& to,
                                             std::chrono::milliseconds connect_timeout,
                                             const http::request<http::string_body>& req, const H2Options& opt) {
  beast::tcp_stream upstream(client.get_executor());
  upstream.expires_after(connect_timeout);
  auto [ec] = co_await upstream.async_connect(to, asio::as_tuple(asio::use_awaitable));
  if (ec == beast::error::timeout) co_return co_await gateway_timeout(client, "upstream connect timed out");
  if (ec) co_return co_await bad_gateway(client, "upstream connect failed: " + ec.message());
  co_await forward_h2(upstream, client, make_h2_request(req), opt);
}

}  // namespace upfault_ref
