#include "upfault/http.hpp"

#include <boost/beast/http.hpp>
#include <fmt/format.h>

namespace upfault {

namespace http = boost::beast::http;

struct ResponseReader::Impl {
  explicit Impl(bool head) : head_request(head) { reset(); }
  void reset() {
    parser.emplace();
    parser->eager(true);
    parser->header_limit(64 * 1024);
    parser->body_limit(64ull * 1024 * 1024);
    if (head_request) parser->skip(true);
  }
  bool head_request;
  std::optional<http::response_parser<http::string_body>> parser;
  std::string pending;  // bytes the parser has not consumed yet (it wants a whole header at once)
};

ResponseReader::ResponseReader(bool head_request) : impl_(std::make_unique<Impl>(head_request)) {}
ResponseReader::~ResponseReader() = default;
ResponseReader::ResponseReader(ResponseReader&&) noexcept = default;
ResponseReader& ResponseReader::operator=(ResponseReader&&) noexcept = default;

bool ResponseReader::header_done() const { return impl_->parser->is_header_done(); }

std::size_t ResponseReader::body_bytes() const {
  return impl_->parser->is_header_done() ? impl_->parser->get().body().size() : 0;
}

void ResponseReader::capture_header() {
  if (header_captured_ || !impl_->parser->is_header_done()) return;
  const auto& msg = impl_->parser->get();
  image_.status = static_cast<int>(msg.result_int());
  image_.reason = std::string(msg.reason());
  image_.headers.clear();
  for (const auto& f : msg) image_.headers.emplace_back(std::string(f.name_string()), std::string(f.value()));
  header_captured_ = true;
}

const ResponseImage& ResponseReader::response() {
  capture_header();
  // The body is copied here, once, rather than after every read: a large body would otherwise
  // be copied again and again as it arrives.
  if (header_captured_) image_.body = impl_->parser->get().body();
  return image_;
}

ResponseReader::State ResponseReader::feed(std::string_view input) {
  if (state_ != State::need_more) return state_;
  auto& pending = impl_->pending;
  pending.append(input);
  std::string_view bytes = pending;
  while (state_ == State::need_more && !bytes.empty()) {
    boost::system::error_code ec;
    auto n = impl_->parser->put(boost::asio::buffer(bytes.data(), bytes.size()), ec);
    bytes.remove_prefix(n);
    if (ec == http::error::need_more) break;
    if (ec) {
      capture_header();
      error_ = ec.message();
      state_ = State::error;
      break;
    }
    if (impl_->parser->is_done()) {
      capture_header();
      int st = image_.status;
      if (st >= 100 && st < 200 && st != 101) {
        interim_.push_back(st);
        image_ = {};
        header_captured_ = false;
        impl_->reset();
        continue;
      }
      state_ = State::complete;
    } else if (n == 0) {
      break;
    }
  }
  pending.erase(0, pending.size() - bytes.size());
  capture_header();
  // Beast reads any three digits; RFC 9110 §15 allows only 100-599.
  if (state_ != State::error && impl_->parser->is_header_done() && (image_.status < 100 || image_.status > 599)) {
    error_ = fmt::format("status code {:03} is outside 100-599", image_.status);
    state_ = State::error;
  }
  return state_;
}

ResponseReader::State ResponseReader::eof() {
  if (state_ != State::need_more) return state_;
  if (!impl_->parser->got_some()) {
    error_ = "connection closed before any response";
    state_ = State::error;
    return state_;
  }
  boost::system::error_code ec;
  impl_->parser->put_eof(ec);
  capture_header();
  if (ec) {
    error_ = ec == http::error::partial_message ? "connection closed before the message was complete"
                                               : ec.message();
    state_ = State::error;
  } else if (impl_->parser->is_done()) {
    state_ = State::complete;
  } else {
    error_ = "connection closed before any response";
    state_ = State::error;
  }
  return state_;
}

std::optional<ResponseImage> parse_complete_response(std::string_view bytes) {
  ResponseReader r;
  if (r.feed(bytes) == ResponseReader::State::need_more) r.eof();
  if (r.state() != ResponseReader::State::complete) return std::nullopt;
  return r.response();
}

std::string serialize_response(const ResponseImage& r) {
  std::string out = fmt::format("HTTP/1.1 {} {}\r\n", r.status, r.reason);
  for (const auto& [name, value] : r.headers) out += fmt::format("{}: {}\r\n", name, value);
  out += "\r\n";
  out += r.body;
  return out;
}

std::string printable(std::string_view bytes, std::size_t max) {
  std::string out;
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    if (out.size() >= max) {
      out += "…";
      break;
    }
    auto c = static_cast<unsigned char>(bytes[i]);
    switch (c) {
      case '\r': out += "\\r"; break;
      case '\n': out += "\\n"; break;
      case '\t': out += "\\t"; break;
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      default:
        if (c >= 0x20 && c < 0x7f) out += static_cast<char>(c);
        else out += fmt::format("\\x{:02x}", c);
    }
  }
  return out;
}

}  // namespace upfault
